"""Dimension 7: security and data governance."""
