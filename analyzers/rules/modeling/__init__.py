"""Dimension 1: modeling (entities, relations, association tables, polymorphism, EAV)."""
