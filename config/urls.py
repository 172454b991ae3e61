"""URL layout.

Machine endpoints (webhooks, badges, JSON, PDF and CSV files, feeds, health) are plain Django URLs
without a language prefix and come before Wagtail's catch-all. People's pages are English without a
prefix and German under /de/.
"""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from accounts.views import staff_login_redirect

# Machine endpoints: later issues add theirs here (webhooks, reports/*.json, badges, feeds).
machine_patterns = [
    path("", include("jobs.urls")),
    path("", include("payments.urls")),
    path("", include("fundraising.machine_urls")),
    path("", include("perks.machine_urls")),
    path("", include("reports.machine_urls")),
]

urlpatterns = [
    # The admins' own log-in forms are never used directly: allauth (rate limits, MFA) does it.
    path("django-admin/login/", staff_login_redirect, name="django_admin_login"),
    path("django-admin/", admin.site.urls),
    path("admin/login/", staff_login_redirect, name="wagtail_admin_login"),
    path("admin/password_reset/", staff_login_redirect),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    *machine_patterns,
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += i18n_patterns(
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("support/perks/", include("perks.urls")),
    path("support/", include("fundraising.urls")),
    path("sponsors/account/", include("sponsors.urls")),
    path("reports/", include("reports.urls")),
    path("", include(wagtail_urls)),
    prefix_default_language=False,
)
