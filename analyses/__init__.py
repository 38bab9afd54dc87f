"""analyses (placeholder package; see the open issues)."""
