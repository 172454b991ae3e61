"""Settings for pytest: SQLite in memory and eager tasks by default; PostgreSQL/Redis when their URLs are set."""

from .base import *  # noqa: F403
from .base import BASE_DIR, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A real worker runs the tasks when CELERY_TASK_ALWAYS_EAGER=0 is set together with REDIS_URL (.ci/run).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ACCOUNT_RATE_LIMITS = False
# Tests change data and read the page at once, also across processes (the real worker): no grace second.
PAGE_CACHE_VERSION_SECONDS = 0

# Tests drive the local sandbox; tests of the real gateway fake Stripe's HTTP API (payments/ edge only).
STRIPE_SECRET_KEY = ""
PAYMENTS_SANDBOX = True
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
PRIVATE_MEDIA_ROOT = env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-private"))

# Serve static files from the app folders without collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
