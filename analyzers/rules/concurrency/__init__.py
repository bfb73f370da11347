"""Dimension 6: transactions and concurrency."""
