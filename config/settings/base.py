"""Settings shared by every environment.

Everything that differs between machines comes from the environment (django-environ). With nothing
configured the project runs on a SQLite file, a local-memory cache, console e-mail, local media and
Celery tasks run eagerly in-process, so a fresh clone needs nothing but Python.
"""

import sys
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-never-use-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
WAGTAILADMIN_BASE_URL = SITE_URL

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if not USING_POSTGRES:
    # SQLite: wait for a writer instead of failing at once, like a server database would.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    # Django first: contenttypes and auth must load (and, in tests, deserialize) before anything that
    # points at them. Our templates override others' from the project's templates/ folder.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.locales",
    "wagtail",
    "modelcluster",
    "taggit",
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # The project, lower layers first
    "accounts",
    "jobs",
    "ledger",
    "payments",
    "fundraising",
    "perks",
    "sponsors",
    "grants",
    "reports",
    "cms",
]
if USING_POSTGRES:
    INSTALLED_APPS.append("django.contrib.postgres")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "cms.page_cache.AnonymousPageCacheMiddleware",  # whole public pages for visitors without a session
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.AdminFramingMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffAccessMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:profile"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Patronage")
# Groups whose members see staff pages and therefore must have MFA (see accounts/roles.py).
STAFF_SESSION_AGE = env.int("STAFF_SESSION_AGE", default=60 * 60 * 2)  # 2 hours
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)  # patrons: 2 weeks

# --- Wagtail --------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env("WAGTAIL_SITE_NAME", default="Patronage")
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES = [("en", _("English")), ("de", _("German"))]
LANGUAGE_CODE = "en"
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False
WAGTAILEMBEDS_FINDERS = []  # no outside oEmbed providers: no outside URLs at run time
WAGTAILSEARCH_BACKENDS = {
    "default": {
        "BACKEND": "wagtail.search.backends.database",
    }
}
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILDOCS_EXTENSIONS = ["pdf", "png", "jpg", "jpeg", "csv", "xml", "odt", "docx", "xlsx"]

# --- Internationalisation -------------------------------------------------------------------
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
# Receipts, invoices and payment confirmations: never served from MEDIA_URL, only through views that
# check who asks (DOMAIN.md 8: restricted storage until their retention ends).
PRIVATE_MEDIA_ROOT = env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Cache, broker, background jobs ---------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",  # Django's, reusing its Redis client
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="patronage"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How long a whole public page is kept for visitors without a session (cms/page_cache.py); 0 turns it off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=300)
# How long a process trusts the version numbers it read last: a change made elsewhere shows within this time.
PAGE_CACHE_VERSION_SECONDS = env.float("PAGE_CACHE_VERSION_SECONDS", default=1.0)
# The benchmark's baseline view /bench/trivial/ (jobs/views.py) answers only when this is on.
BENCH_TRIVIAL_VIEW = env.bool("BENCH_TRIVIAL_VIEW", default=False)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
# WeasyPrint keeps about 0.3 MB per rendered PDF that garbage collection does not return (bench/jobs_bench.py
# measured a worker child at 689 MB after the 10,000-donor receipt run): recycle children now and then.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
# The longest countdown/eta any task uses. The broker's visibility timeout must exceed it, or Redis
# hands a delayed message to a second worker while the first still holds it.
CELERY_LONGEST_COUNTDOWN = 60 * 60 * 6
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_LONGEST_COUNTDOWN + 60 * 60,
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "jobs-heartbeat": {"task": "jobs.tasks.heartbeat", "schedule": 60 * 15},
    # The safety net for webhook events whose task was lost (Redis down, a worker killed).
    "payments-sweep-events": {"task": "payments.tasks.sweep_events", "schedule": 60 * 5},
    # Stripe's own list of events: heals a longer outage of the webhook endpoint.
    "payments-reconcile-events": {
        "task": "payments.tasks.reconcile_events",
        "schedule": 60 * 60 * 24,
        "kwargs": {"days": 3},
    },
    # Perks suspended after the grace period, receipts purged after their retention, erased data.
    "fundraising-daily": {"task": "fundraising.tasks.daily", "schedule": 60 * 60 * 24},
    # Perks follow the money: grace periods end without an event.
    "perks-sync-entitlements": {"task": "perks.tasks.sync_entitlements", "schedule": 60 * 60},
    # Placements end with their period; renewal reminders 30 and 7 days ahead; unpaid invoices 7 and 21 days.
    "sponsors-daily": {"task": "sponsors.tasks.daily", "schedule": 60 * 60 * 24},
    # Milestones due in 14 and 3 days or overdue, grants ending in 60 days: owner and finance, each once.
    "grants-daily": {"task": "grants.tasks.daily", "schedule": 60 * 60 * 24},
    # On the first of each month: draft last month's report for finance to review and publish.
    "reports-draft-previous-month": {
        "task": "reports.tasks.draft_previous_month",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
    # Daily: the taxable business's gross receipts against the §64(3) AO limit (e-mail at 80 % and 100 %).
    "reports-threshold-monitor": {"task": "reports.tasks.threshold_monitor", "schedule": 60 * 60 * 24},
    # In January: every donor's annual collective receipt for the year before (idempotent per year).
    "fundraising-annual-receipts": {
        "task": "fundraising.tasks.annual_receipts_if_due",
        "schedule": 60 * 60 * 24,
    },
}

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend",
)
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Patronage <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security headers that hold everywhere --------------------------------------------------
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # Wagtail's admin gets SAMEORIGIN for its preview (AdminFramingMiddleware)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

# Content Security Policy (django-csp 4): nothing is loaded from outside this site.
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, UNSAFE_INLINE],  # Wagtail's admin still uses inline scripts
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],  # only Wagtail's preview frames our pages
        # Forms that redirect to Stripe's hosted Checkout and Billing Portal (browsers apply form-action
        # to the redirect after a POST).
        "form-action": [SELF, "https://checkout.stripe.com", "https://billing.stripe.com"],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
        "wagtail.contrib.redirects": {"level": "WARNING"},
        "django.utils.autoreload": {"level": "WARNING"},
    },
}

# --- Organisation-specific knobs ------------------------------------------------------------
LEDGER_CURRENCY = "EUR"

# --- Payments (Stripe) ------------------------------------------------------------------------
# Optional: with STRIPE_SECRET_KEY set the site talks to Stripe. Without it, and with DEBUG on (or
# PAYMENTS_SANDBOX=1 set explicitly), a local sandbox stands in for Stripe: its checkout is a local
# card form with test cards and it sends signed events in Stripe's shapes to the same webhook.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_TAX_ENABLED = env.bool("STRIPE_TAX_ENABLED", default=False)
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=512 * 1024)
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=False)
# How long the sandbox's bank takes to answer a SEPA Direct Debit, in sandbox seconds: 0 answers at once
# (as Stripe's test mode); more leaves it processing until the sandbox clock passes it or someone presses
# "Simulate the bank confirming the debit" on the sandbox's debit page.
PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS = env.int("PAYMENTS_SANDBOX_SEPA_DELAY_SECONDS", default=0)

# --- Patrons ----------------------------------------------------------------------------------
PATRON_GRACE_DAYS = env.int("PATRON_GRACE_DAYS", default=14)  # perks kept this long after a failed payment
PATRON_MIN_AMOUNT = Decimal(env("PATRON_MIN_AMOUNT", default="2.00"))  # free amounts, EUR or USD
PATRON_MAX_AMOUNT = Decimal(env("PATRON_MAX_AMOUNT", default="10000.00"))
# What happens to an approved custom emoji when its patron's perk ends: "keep" it in the next emoji pack
# (default) or "omit" it.
PERKS_EMOJI_ON_END = env("PERKS_EMOJI_ON_END", default="keep")
# Card-testing defences on checkout creation (counts per hour).
CHECKOUT_LIMIT_PER_IP = env.int("CHECKOUT_LIMIT_PER_IP", default=5)
CHECKOUT_LIMIT_PER_SESSION = env.int("CHECKOUT_LIMIT_PER_SESSION", default=5)
# Finance is alerted when more than this share of the last hour's checkouts failed (with at least 10).
CHECKOUT_FAILURE_ALERT_SHARE = env.float("CHECKOUT_FAILURE_ALERT_SHARE", default=0.3)
FINANCE_ALERT_EMAIL = env("FINANCE_ALERT_EMAIL", default="")

# --- Sponsors -------------------------------------------------------------------------------
SPONSOR_INVOICE_DUE_DAYS = env.int("SPONSOR_INVOICE_DUE_DAYS", default=14)
# Offered in Stripe Checkout for sponsor invoices (both must be enabled in the Stripe Dashboard).
SPONSOR_PAYMENT_METHODS = env.list("SPONSOR_PAYMENT_METHODS", default=["card", "sepa_debit"])
SPONSOR_LOGO_MAX_BYTES = env.int("SPONSOR_LOGO_MAX_BYTES", default=5 * 1024 * 1024)
SPONSOR_LOGO_MAX_PIXELS = env.int("SPONSOR_LOGO_MAX_PIXELS", default=25_000_000)  # of the upload
SPONSOR_LOGO_MAX_SIDE = env.int("SPONSOR_LOGO_MAX_SIDE", default=1200)  # of the stored logo, in pixels

# --- Reports, tax and the tax adviser ------------------------------------------------------
# §64(3) AO: the taxable business's gross receipts a year below which it pays no corporate or trade tax;
# finance gets an e-mail at 80 % and at 100 % (reports.tasks.threshold_monitor).
TAXABLE_BUSINESS_LIMIT = Decimal(env("TAXABLE_BUSINESS_LIMIT", default="45000.00"))
# The DATEV export's header (docs/reports.md): the tax adviser's and the client's numbers at DATEV, the
# length of the account numbers and the chart of accounts ("03" = SKR 03, "04" = SKR 04).
DATEV_ADVISER_NUMBER = env.int("DATEV_ADVISER_NUMBER", default=1001)
DATEV_CLIENT_NUMBER = env.int("DATEV_CLIENT_NUMBER", default=1)
DATEV_ACCOUNT_LENGTH = env.int("DATEV_ACCOUNT_LENGTH", default=4)
DATEV_CHART = env("DATEV_CHART", default="03")
