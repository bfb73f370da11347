"""Dimension 3: integrity (foreign keys, ON DELETE, uniqueness, checks, idempotency keys)."""
