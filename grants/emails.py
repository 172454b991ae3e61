"""E-mails about grants to staff: the grant's owner and finance, in the site's language (English).

Called by ``grants.reminders`` with ids (the rows are read fresh here). Plain text from
``DEFAULT_FROM_EMAIL``, rendered from ``templates/grants/emails/``, with absolute links into the Wagtail
admin built from ``SITE_URL``. Each function returns True if an e-mail went out; nobody to send to, or a row
that is gone or no longer open, sends nothing.
"""

from __future__ import annotations

import datetime
import logging
import re

from babel.numbers import format_currency
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.alerts import role_emails
from accounts.roles import FINANCE

from .models import ZERO, Grant, Milestone

logger = logging.getLogger(__name__)


def money_display(amount, currency: str = "EUR") -> str:
    return format_currency(amount, currency.upper(), locale=translation.get_language() or "en")


# The staff screens (grants/viewsets.py) that the e-mails link to: their inspect view, else their edit view.
ADMIN_SCREENS = {Grant: "grants_grant", Milestone: "grants_milestone"}


def admin_url(instance) -> str:
    """``SITE_URL`` + the admin screen of ``instance`` (inspect, else edit, else whatever Wagtail's URL finder
    knows), or the admin's home page while there is none."""
    from django.urls import reverse
    from wagtail.admin.admin_url_finder import AdminURLFinder

    path = ""
    namespace = ADMIN_SCREENS.get(type(instance), "")
    for view in ("inspect", "edit") if namespace else ():
        try:
            path = reverse(f"{namespace}:{view}", args=[instance.pk])
            break
        except NoReverseMatch:
            continue
    if not path:
        try:
            path = AdminURLFinder().get_edit_url(instance) or ""
        except NoReverseMatch:
            path = ""
    return settings.SITE_URL.rstrip("/") + (path or "/admin/")


def _milestone_url(milestone: Milestone) -> str:
    """The milestone's own screen if it has one, else its grant's."""
    url = admin_url(milestone)
    return url if not url.endswith("/admin/") else admin_url(milestone.grant)


def recipients(grant: Grant) -> list[str]:
    """The grant's owner (if active, with an address) and finance (``FINANCE_ALERT_EMAIL``, else the finance
    group), each once."""
    addresses = []
    owner = grant.owner
    if owner is not None and owner.is_active and owner.email:
        addresses.append(owner.email)
    if settings.FINANCE_ALERT_EMAIL:
        addresses.append(settings.FINANCE_ALERT_EMAIL)
    else:
        addresses.extend(role_emails(FINANCE))
    unique: list[str] = []
    for address in addresses:
        address = (address or "").strip()
        if address and address.lower() not in {known.lower() for known in unique}:
            unique.append(address)
    return unique


def _send(*, to: list[str], template: str, subject: str, context: dict) -> bool:
    if not to:
        logger.warning("grants: e-mail %s has no recipients; not sent", template)
        return False
    body = render_to_string(f"grants/emails/{template}.txt", context)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.strip().splitlines())) + "\n"
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Content-Language": translation.get_language() or "en", "Auto-Submitted": "auto-generated"},
    ).send()
    logger.info("grants: e-mail %s sent to %d recipient(s)", template, len(to))
    return True


def _grant_context(grant: Grant) -> dict:
    received = grant.payments.aggregate(total=Sum("amount"))["total"] or ZERO
    return {
        "grant": grant,
        "funder": grant.funder,
        "awarded": money_display(grant.awarded_amount, grant.currency),
        "received": money_display(received, grant.currency),
        "grant_url": admin_url(grant),
    }


def milestone_reminder(*, milestone_id: int, overdue: bool, today: datetime.date) -> bool:
    """A milestone is due soon (``overdue`` False: in 14 or 3 days) or overdue: submit it and ask for the
    payment."""
    milestone = (
        Milestone.objects.open()
        .select_related("grant__funder", "grant__owner")
        .filter(pk=milestone_id, grant__state__in=(Grant.State.AWARDED, Grant.State.ACTIVE))
        .first()
    )
    if milestone is None:
        return False
    grant = milestone.grant
    with translation.override(settings.LANGUAGE_CODE):
        days = (milestone.due_date - today).days
        name = f"{grant.code} M{milestone.position}: {milestone.title}"
        if overdue:
            subject = ngettext(
                "Milestone overdue by %(days)d day: %(milestone)s",
                "Milestone overdue by %(days)d days: %(milestone)s",
                -days,
            ) % {"days": -days, "milestone": name}
        elif days == 0:
            subject = _("Milestone due today: %(milestone)s") % {"milestone": name}
        else:
            subject = ngettext(
                "Milestone due in %(days)d day: %(milestone)s",
                "Milestone due in %(days)d days: %(milestone)s",
                days,
            ) % {"days": days, "milestone": name}
        return _send(
            to=recipients(grant),
            template="milestone_overdue" if overdue else "milestone_due",
            subject=subject,
            context={
                **_grant_context(grant),
                "milestone": milestone,
                "days": abs(days),
                "amount": money_display(milestone.payable_amount, grant.currency),
                "milestone_url": _milestone_url(milestone),
            },
        )


def grant_end_reminder(*, grant_id: int, today: datetime.date) -> bool:
    """A grant ends within 60 days: its open milestones, the money received so far, the final report."""
    grant = (
        Grant.objects.select_related("funder", "owner")
        .filter(pk=grant_id, state__in=(Grant.State.AWARDED, Grant.State.ACTIVE))
        .first()
    )
    if grant is None:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        days = (grant.end_date - today).days
        open_milestones = [
            {
                "milestone": milestone,
                "amount": money_display(milestone.payable_amount, grant.currency),
                "overdue": milestone.due_date < today,
            }
            for milestone in grant.milestones.open().order_by("position", "due_date")
        ]
        return _send(
            to=recipients(grant),
            template="grant_ending",
            subject=ngettext(
                "Grant ends in %(days)d day: %(grant)s",
                "Grant ends in %(days)d days: %(grant)s",
                days,
            )
            % {"days": days, "grant": grant.title},
            context={**_grant_context(grant), "days": days, "open_milestones": open_milestones},
        )
