"""Registry reads, scoped to the person asking."""
