"""Fixed texts of the audit report, in English and Chinese (the headings of the original request)."""

from __future__ import annotations

HEADINGS = {
    "en": {
        "title": "Database design audit",
        "overview": "I. Schema overview (text ERD)",
        "gaps": "II. Gap map",
        "findings": "III. Findings",
        "compat": "IV. Compatibility / defense / fallback / adaptation list",
        "roadmap": "Roadmap (at most 8 actions, P0 first)",
        "evidence": "Evidence", "impact": "Impact", "root_cause": "Root cause", "fix": "Fix",
        "short_term": "Short term (1-3 days)", "medium_term": "Medium term (1-2 weeks)",
        "long_term": "Long term", "verification": "How to verify",
        "dimension": "Dimension", "gaps_found": "Gaps found", "standard": "Standard / ADR to write",
        "none": "none found", "location": "Location", "kind": "Kind", "description": "Description",
        "retire": "Plan to retire it", "summary": "Summary", "no_findings": "No findings.",
        "problems": "Problems reading the workspace",
        "coverage": "What was read",
    },
    "zh": {
        "title": "数据库设计评审报告",
        "overview": "I. Schema 概览（文字 ERD）",
        "gaps": "II. 缺口地图",
        "findings": "III. 模型设计问题清单",
        "compat": "IV. 兼容/防御/回退/适配清单",
        "roadmap": "路线图（最多 8 条行动项，P0 优先）",
        "evidence": "证据", "impact": "影响", "root_cause": "根因", "fix": "修复方案",
        "short_term": "短期止血（1-3 天）", "medium_term": "中期重构（1-2 周）",
        "long_term": "长期演进", "verification": "验证方法",
        "dimension": "维度", "gaps_found": "发现的缺口", "standard": "需要制定的规范 / ADR",
        "none": "未发现", "location": "位置", "kind": "类型", "description": "描述",
        "retire": "下线计划", "summary": "概要", "no_findings": "没有发现问题。",
        "problems": "读取工作区时的问题",
        "coverage": "读取范围",
    },
}

DIMENSION_NAMES = {
    "en": {1: "Modeling", 2: "Columns", 3: "Integrity", 4: "Indexes and performance",
           5: "Migrations and evolution", 6: "Concurrency", 7: "Governance",
           8: "Compatibility, defense, fallback"},
    "zh": {1: "实体与关系建模", 2: "字段设计", 3: "约束与数据完整性", 4: "索引与性能",
           5: "迁移与版本演进", 6: "事务与并发一致性", 7: "安全与数据治理", 8: "兼容/防御/回退/适配"},
}

# The standard or ADR a team writes to close the gaps of each dimension.
STANDARDS = {
    "en": {1: "ADR: relationship modeling (association tables keyed on the pair; no polymorphic FKs without a constraint strategy; columns over JSON bags)",
           2: "Standard: column types and naming (timestamptz, numeric for money, enums or checks for states, created_at/updated_at, soft-delete columns)",
           3: "Standard: integrity (every *_id has an FK with an explicit ON DELETE; business keys unique; range checks; idempotency keys)",
           4: "Standard: index naming and composite index rules (FK columns indexed; no redundant indexes; partial indexes for soft delete)",
           5: "Standard: zero-downtime staged migrations (expand, backfill, contract; reversible; one head)",
           6: "Standard: transactions and concurrency (unique constraints over check-then-insert; atomic updates; version columns)",
           7: "Standard: PII and secrets (minimise, encrypt with managed keys, retention and partitioning for append-only tables)",
           8: "Standard: compatibility shims (each with an owner, a hit counter and a removal migration; tests on PostgreSQL)"},
    "zh": {1: "ADR：关系建模规范（中间表以组合键唯一；多态关联需有约束策略；用列而不是 JSON 袋）",
           2: "规范：字段类型与命名（timestamptz、金额用 numeric、状态用枚举或 check、created_at/updated_at、软删除字段）",
           3: "规范：完整性约束（每个 *_id 都有外键并明确 ON DELETE；业务键唯一；范围检查；幂等键）",
           4: "规范：索引命名与复合索引规则（外键列有索引；无冗余索引；软删除用部分索引）",
           5: "规范：零停机分阶段迁移（扩展、回填、收缩；可回滚；单一 head）",
           6: "规范：事务与并发（用唯一约束代替先查后插；原子更新；版本列）",
           7: "规范：PII 与密钥（最小化、用托管密钥加密、追加型表的保留与分区）",
           8: "规范：兼容垫片（有负责人、命中计数和下线迁移；测试使用 PostgreSQL）"},
}
