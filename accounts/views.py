from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import roles
from .access import has_mfa, is_staff_member, role_names


def staff_login_redirect(request):
    """Send the Django and Wagtail admin log-in forms to allauth's (rate-limited, with MFA)."""
    next_url = request.GET.get("next") or reverse("wagtailadmin_home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("wagtailadmin_home")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


@login_required
def profile(request):
    user = request.user
    names = role_names(user)
    return render(
        request,
        "accounts/profile.html",
        {
            "roles": [role.label for role in roles.ROLES if role.name in names],
            "has_mfa": has_mfa(user),
            "staff": is_staff_member(user),
        },
    )
