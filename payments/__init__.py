"""The payment edge: the only code that talks to Stripe (built by the patrons issue)."""
