"""Claims of the stability family (see its issue)."""
