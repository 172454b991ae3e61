from __future__ import annotations

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services
from .access import is_staff_member


@receiver(user_signed_up)
def give_new_users_the_patron_role(sender, request, user, **kwargs):
    services.user_grant_role(user=user, role_name="patron")


@receiver(user_logged_in)
def shorten_staff_sessions(sender, request, user, **kwargs):
    """Staff sessions end sooner than patrons' (STAFF_SESSION_AGE vs SESSION_COOKIE_AGE)."""
    if is_staff_member(user) and hasattr(request, "session"):
        request.session.set_expiry(settings.STAFF_SESSION_AGE)
