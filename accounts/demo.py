"""Demo users: one per role. Staff users have TOTP enrolled with a fixed, printed secret (demo only)."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
from django.db import transaction

from . import roles
from .services import user_grant_role

ORDER = 10
PROVIDES: frozenset[str] = frozenset()

DEMO_PASSWORD = "demo-password-2026"
# A fixed base32 secret so the demo log-in can be reproduced with any authenticator app or `pyotp`.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    first_name: str
    last_name: str
    staff: bool = False
    superuser: bool = False


DEMO_LOGINS = (
    DemoLogin(roles.PATRON, "patron@example.org", "Pat", "Ron"),
    DemoLogin(roles.SPONSOR_CONTACT, "sponsor@example.org", "Sophie", "Sponsor"),
    DemoLogin(roles.EDITOR, "editor@example.org", "Eddie", "Tor", staff=True),
    DemoLogin(roles.FINANCE, "finance@example.org", "Fiona", "Nance", staff=True),
    DemoLogin("admin", "admin@example.org", "Ada", "Admin", staff=True, superuser=True),
)


@transaction.atomic
def seed(*, rng, today, real_kinds, log) -> None:
    User = get_user_model()
    for login in DEMO_LOGINS:
        user = User.objects.filter(email=login.email).first()
        if user is None:
            user = User.objects.create_user(
                email=login.email,
                password=DEMO_PASSWORD,
                first_name=login.first_name,
                last_name=login.last_name,
            )
        if login.superuser and not user.is_superuser:
            user.is_superuser = user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
        EmailAddress.objects.update_or_create(
            user=user, email=login.email, defaults={"verified": True, "primary": True}
        )
        user_grant_role(user=user, role_name=roles.PATRON)
        if login.role in roles.ROLES_BY_NAME:
            user_grant_role(user=user, role_name=login.role)
        if login.staff and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
            RecoveryCodes.activate(user)


def login_lines() -> list[str]:
    lines = [f"{login.role}: {login.email} / {DEMO_PASSWORD}" for login in DEMO_LOGINS]
    lines.append(f"TOTP secret of the staff logins (editor, finance, admin; demo only): {DEMO_TOTP_SECRET}")
    return lines
