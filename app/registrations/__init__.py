"""Registrations domain."""
