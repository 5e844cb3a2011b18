"""Shared pieces every domain uses: settings, database, errors, auth, pagination."""
