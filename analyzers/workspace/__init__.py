"""Discovering a workspace's files, its configuration, and the incremental index over them."""
