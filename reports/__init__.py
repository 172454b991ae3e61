"""Read-only monthly and annual reports and exports (built by the reports issue)."""
