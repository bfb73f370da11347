"""Dimension 2: columns (types, nullability, defaults, naming, audit and soft-delete columns)."""
