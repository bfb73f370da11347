"""The layer comparison of the oracle tests lives in the analyzers (`schemalens verify` uses it too)."""

from schemalens.analyzers.schema.compare import comparable, differences

__all__ = ["comparable", "differences"]
