"""Contributions domain."""
