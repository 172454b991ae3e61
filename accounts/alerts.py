"""E-mails to staff roles about something that needs a person: a failed payment, a new application.

Shared by every domain app (accounts is the bottom layer), so none has to import another to alert.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins, send_mail

logger = logging.getLogger(__name__)


def role_emails(role: str) -> list[str]:
    """The e-mail addresses of the active users in a role's group."""
    from .models import User

    return list(
        User.objects.filter(groups__name=role, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def alert_finance(*, subject: str, message: str, dedupe_key: str = "") -> None:
    """An e-mail to finance (FINANCE_ALERT_EMAIL, else the finance group), once per ``dedupe_key``."""
    from django.core.cache import cache

    if dedupe_key and not cache.add(f"finance-alert:{dedupe_key}", 1, timeout=60 * 60 * 24):
        return
    from .roles import FINANCE

    recipients = [settings.FINANCE_ALERT_EMAIL] if settings.FINANCE_ALERT_EMAIL else role_emails(FINANCE)
    logger.warning("finance alert: %s: %s", subject, message)
    if recipients:
        send_mail(
            f"[Patronage] {subject}", message, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True
        )
    else:
        mail_admins(subject, message, fail_silently=True)
