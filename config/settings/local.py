"""Settings for a developer's machine and `make demo`."""

from .base import *  # noqa: F403
from .base import STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, env

DEBUG = env.bool("DEBUG", default=True)

# No Stripe key on a developer's machine: the local sandbox stands in for Stripe (see base.py).
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=DEBUG and not STRIPE_SECRET_KEY)
STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or ("whsec_local_sandbox" if PAYMENTS_SANDBOX else "")

# Serve static files from the app folders without collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
