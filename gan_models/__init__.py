"""gan_models (placeholder package; see the open issues)."""
