"""SchemaLens: audits a repository's database design while you edit it."""

__version__ = "0.1.0"
