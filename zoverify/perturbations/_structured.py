"""Structured (non-iid) laws: block-coordinate, sparse, low-rank (issue 6)."""
