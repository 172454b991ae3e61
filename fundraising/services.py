"""Workflows of fundraising (filled in below)."""
