"""Funders, grants, milestones, people, pay and allocation (built by the grants issue)."""
