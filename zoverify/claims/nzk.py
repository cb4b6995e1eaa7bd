"""Claims of the nzk family (see its issue)."""
