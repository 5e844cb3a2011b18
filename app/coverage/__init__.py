"""Coverage domain."""
