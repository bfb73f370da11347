"""Dimension 5: migrations and evolution."""
