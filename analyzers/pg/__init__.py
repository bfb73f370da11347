"""A throwaway PostgreSQL (for `verify` and the oracle tests) and a catalog reader."""
