"""Sponsorship packages, applications and invoices (built by the sponsors issue)."""
