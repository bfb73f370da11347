"""Fixed texts of the audit report, as catalog messages (the Chinese follows the headings of the
original request; see analyzers/locale/glossary.md). Render with `translator(lang).localize`."""

from __future__ import annotations

from ..i18n import _

HEADINGS = {
    "title": _("Database design audit"),
    "overview": _("I. Schema overview (text ERD)"),
    "gaps": _("II. Gap map"),
    "findings": _("III. Findings"),
    "compat": _("IV. Compatibility / defense / fallback / adaptation list"),
    "roadmap": _("Roadmap (at most 8 actions, P0 first)"),
    "evidence": _("Evidence"), "impact": _("Impact"), "root_cause": _("Root cause"), "fix": _("Fix"),
    "short_term": _("Short term (1-3 days)"), "medium_term": _("Medium term (1-2 weeks)"),
    "long_term": _("Long term"), "verification": _("How to verify"),
    "dimension": _("Dimension"), "gaps_found": _("Gaps found"), "standard": _("Standard / ADR to write"),
    "none": _("none found"), "not_assessed": _("not assessed: no schema read"), "location": _("Location"), "kind": _("Kind"), "description": _("Description"),
    "retire": _("Plan to retire it"), "summary": _("Summary"), "no_findings": _("No findings."),
    "problems": _("Problems reading the workspace"),
    "coverage": _("What was read"),
}

DIMENSION_NAMES = {
    1: _("Modeling"), 2: _("Columns"), 3: _("Integrity"), 4: _("Indexes and performance"),
    5: _("Migrations and evolution"), 6: _("Concurrency"), 7: _("Governance"),
    8: _("Compatibility, defense, fallback"),
}

# The standard or ADR a team writes to close the gaps of each dimension.
STANDARDS = {
    1: _("ADR: relationship modeling (association tables keyed on the pair; no polymorphic FKs without a constraint strategy; columns over JSON bags)"),
    2: _("Standard: column types and naming (timestamptz, numeric for money, enums or checks for states, created_at/updated_at, soft-delete columns)"),
    3: _("Standard: integrity (every *_id has an FK with an explicit ON DELETE; business keys unique; range checks; idempotency keys)"),
    4: _("Standard: index naming and composite index rules (FK columns indexed; no redundant indexes; partial indexes for soft delete)"),
    5: _("Standard: zero-downtime staged migrations (expand, backfill, contract; reversible; one head)"),
    6: _("Standard: transactions and concurrency (unique constraints over check-then-insert; atomic updates; version columns)"),
    7: _("Standard: PII and secrets (minimise, encrypt with managed keys, retention and partitioning for append-only tables)"),
    8: _("Standard: compatibility shims (each with an owner, a hit counter and a removal migration; tests on PostgreSQL)"),
}
