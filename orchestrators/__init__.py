"""alertcap package."""
