"""Patrons, tiers and perks (built by the patrons and perks issues)."""
