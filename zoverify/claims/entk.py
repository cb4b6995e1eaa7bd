"""Claims of the entk family (see its issue)."""
