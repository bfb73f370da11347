"""Dimension 4: indexes and performance."""
