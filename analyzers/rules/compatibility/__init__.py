"""Dimension 8: compatibility, defense, fallback and adaptation."""
