"""The `schemalens schema --format json` contract, version 1 (documented in README.md).

Paths are relative to the workspace root. New keys may be added within a version; keys are
never removed or renamed without a version bump.
"""

from __future__ import annotations

from ..schema.model import ExtractionError, SchemaLayer, Table

SCHEMA_JSON_VERSION = 1


def _where(element) -> dict:
    return {"path": element.location.path, "line": element.location.line}


def table_json(table: Table) -> dict:
    return {
        "name": table.name,
        "schema": table.schema,
        **_where(table),
        "columns": [
            {"name": c.name, "type": c.type, "nullable": c.nullable, "default": c.server_default or c.default,
             "server_default": c.server_default, "identity": c.identity, "comment": c.comment, **_where(c)}
            for c in table.columns
        ],
        "primary_key": ({"name": table.primary_key.name, "columns": list(table.primary_key.columns)}
                        if table.primary_key else None),
        "foreign_keys": [
            {"name": fk.name, "columns": list(fk.columns), "ref_table": fk.ref_table, "ref_columns": list(fk.ref_columns),
             "on_delete": fk.on_delete, "on_update": fk.on_update, "not_valid": fk.not_valid, **_where(fk)}
            for fk in table.foreign_keys
        ],
        "unique": [{"name": u.name, "columns": list(u.columns), **_where(u)} for u in table.unique_constraints],
        "checks": [{"name": c.name, "expression": c.expression, "not_valid": c.not_valid, **_where(c)}
                   for c in table.check_constraints],
        "indexes": [
            {"name": i.name, "columns": list(i.columns), "unique": i.unique, "where": i.where, "using": i.using,
             "concurrently": i.concurrently, **_where(i)}
            for i in table.indexes
        ],
        "partition_by": table.partition_by,
        "partition_of": table.partition_of,
        "triggers": [{"name": t.name, "function": t.function, **_where(t)} for t in table.triggers],
    }


def layer_json(layer: SchemaLayer) -> dict:
    return {
        "tables": [table_json(table) for _, table in sorted(layer.tables.items())],
        "enums": [{"name": e.name, "schema": e.schema, "values": list(e.values), **_where(e)}
                  for _, e in sorted(layer.enums.items())],
    }


def error_json(error: ExtractionError) -> dict:
    return {"path": error.location.path, "line": error.location.line, "column": error.location.column,
            "message": error.message, "kind": error.kind}


def workspace_json(model, layers: tuple[str, ...] = ("orm", "database")) -> dict:
    """The whole contract for a WorkspaceModel, with the requested layers."""
    graph = model.revisions
    return {
        "version": SCHEMA_JSON_VERSION,
        "layers": {name: layer_json(getattr(model, name)) for name in layers},
        "migrations": {
            "heads": list(graph.heads),
            "revisions": [
                {"id": rid, "down_revisions": list(graph.by_id[rid].down_revisions),
                 "path": graph.by_id[rid].path, "line": graph.by_id[rid].location.line}
                for rid in graph.order
            ],
            "sql": list(model.sql_migrations),
        },
        "errors": [error_json(error) for error in model.errors],
        "coverage": model.coverage.as_json(),
        "query_coverage": query_coverage_json(model),
    }


def query_coverage_json(model, first: int | None = 20) -> dict:
    """The share of filter/filter_by/where/join/outerjoin/order_by/group_by calls of application
    code resolved to tables and columns, and the first `first` unresolved calls (all with None),
    each with why."""
    from ..query_paths import query_coverage
    from ..workspace.code_roles import is_application_code

    patterns = model.config.non_application_paths
    facts = [facts for path, facts in sorted(model.code.items()) if is_application_code(path, patterns)]
    coverage = query_coverage(model, model.database if model.database.tables else model.orm, facts)
    unresolved = coverage.unresolved if first is None else coverage.unresolved[:first]
    return {"calls": coverage.calls, "resolved": coverage.resolved, "share": round(coverage.share, 4),
            "unresolved": [{"path": call.call.location.path, "line": call.call.location.line,
                            "method": call.call.method, "kind": call.kind, "reason": call.reason}
                           for call in unresolved]}
