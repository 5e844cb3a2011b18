"""Reference domain."""
