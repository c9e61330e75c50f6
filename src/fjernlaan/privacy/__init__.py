"""Patrons' personal data: erasure after the retention period, and what the hub holds about a patron."""
