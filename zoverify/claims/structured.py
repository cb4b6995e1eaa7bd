"""Claims of the structured family (see its issue)."""
