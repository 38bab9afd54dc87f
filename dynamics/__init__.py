"""dynamics (placeholder package; see the open issues)."""
