"""The Django admin is for superusers only; everyone else works in Wagtail's admin."""

from django.contrib import admin


def _superusers_only(request):
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only
