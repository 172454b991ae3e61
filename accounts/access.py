"""Who may see what: staff pages need a staff role and MFA; finance data needs the finance role and MFA."""

from __future__ import annotations

from functools import wraps

from allauth.mfa.models import Authenticator
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from . import roles


def role_names(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def is_staff_member(user) -> bool:
    """Anyone who can open a staff page: superusers, Django staff, editors and finance."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.is_staff or bool(role_names(user) & roles.STAFF_ROLE_NAMES)


def is_finance(user) -> bool:
    return (
        user.is_authenticated and user.is_active and (user.is_superuser or roles.FINANCE in role_names(user))
    )


def has_mfa(user) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_has_mfa", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._has_mfa = cached
    return cached


def finance_required(view_func):
    """For views that show finance data: log in, the finance role, and MFA set up."""

    @wraps(view_func)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_finance(user):
            raise PermissionDenied
        if not has_mfa(user):
            return redirect("mfa_activate_totp")
        return view_func(request, *args, **kwargs)

    return wrapped
