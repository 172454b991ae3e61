"""Staff pages (Wagtail and Django admin) open only for staff who have set up MFA."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .access import has_mfa, is_staff_member

STAFF_PATH_PREFIXES = ("/admin/", "/django-admin/")
# The log-in redirects themselves must stay reachable.
OPEN_STAFF_PATHS = ("/admin/login/", "/admin/password_reset/", "/django-admin/login/")


class StaffAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        user = getattr(request, "user", None)
        # Staff sessions end after STAFF_SESSION_AGE, whatever "remember me" said at log-in.
        if (
            user is not None
            and user.is_authenticated
            and is_staff_member(user)
            and request.session.get("_session_expiry") != settings.STAFF_SESSION_AGE
        ):
            request.session.set_expiry(settings.STAFF_SESSION_AGE)
        if path.startswith(STAFF_PATH_PREFIXES) and not path.startswith(OPEN_STAFF_PATHS):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if is_staff_member(user) and not has_mfa(user):
                messages.warning(
                    request,
                    _("Staff pages need two-factor authentication. Set up an authenticator app to continue."),
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)


class AdminFramingMiddleware:
    """The site refuses to be framed (X-Frame-Options: DENY), except Wagtail's admin, whose page preview
    shows the page in a same-origin frame. Listed after XFrameOptionsMiddleware so it answers first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith("/admin/") and "X-Frame-Options" not in response:
            response["X-Frame-Options"] = "SAMEORIGIN"
        return response
