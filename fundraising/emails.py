"""E-mails to patrons, each in the patron's language (``Patron.language``).

Called by services after commit (``transaction.on_commit``). Every function is safe to call twice
for the same thing only in the sense that it sends again: callers call it once per state change.
An erased patron (or one without an e-mail address) gets nothing. Plain text, from
``DEFAULT_FROM_EMAIL``, with absolute links built from ``SITE_URL``; the links follow the patron's
language (``/de/...`` for German).
"""

from __future__ import annotations

import datetime
import logging
import re
from contextlib import contextmanager
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def patron_reachable(patron) -> bool:
    return patron is not None and not patron.erased_at and bool(patron.email)


def _language(patron) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    language = (patron.language or "").split("-")[0].lower()
    return language if language in codes else settings.LANGUAGE_CODE


def absolute_url(name: str, **kwargs) -> str:
    """``SITE_URL`` plus the path in the active language; empty while the view does not exist."""
    try:
        path = reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""
    return settings.SITE_URL.rstrip("/") + path


def _home_url() -> str:
    """The home page in the active language (English has no prefix, other languages /<code>/)."""
    language = translation.get_language()
    prefix = "" if language == settings.LANGUAGE_CODE else f"{language}/"
    return f"{settings.SITE_URL.rstrip('/')}/{prefix}"


def organisation_name() -> str:
    from .confirmations import organisation_for_documents

    organisation = organisation_for_documents()
    return (organisation.display_name if organisation else "") or "Patronage"


@contextmanager
def in_patron_language(patron):
    with translation.override(_language(patron)):
        yield


def _send(*, patron, template: str, subject: str, context: dict) -> None:
    """Render ``fundraising/emails/<template>.txt`` in the active language and send it to the patron."""
    context = {
        "patron": patron,
        "organisation_name": organisation_name(),
        "my_support_url": absolute_url("fundraising:my_support"),
        "has_account": patron.user_id is not None,
        **context,
    }
    body = render_to_string(f"fundraising/emails/{template}.txt", context)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.strip().splitlines())) + "\n"
    message = EmailMessage(
        subject=f"{subject} · {context['organisation_name']}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[patron.email],
        headers={"Content-Language": translation.get_language(), "Auto-Submitted": "auto-generated"},
    )
    message.send()
    logger.info("E-mail %s sent to patron %s", template, patron.pseudonym)


def _signup_url(patron) -> str:
    url = absolute_url("account_signup")
    return f"{url}?{urlencode({'email': patron.email})}" if url else ""


def _tier_name(patronage) -> str:
    return patronage.tier.display_name if patronage and patronage.tier else ""


def send_thank_you(*, payment) -> None:
    """Thanks for a payment, with a link to its confirmation (and receipt, for a one-time donation)."""
    patron = payment.patron
    if not patron_reachable(patron):
        return
    with in_patron_language(patron):
        receipt = payment.receipt
        receipt_url = ""
        if receipt is not None and not receipt.purged_at:
            receipt_url = absolute_url("fundraising:receipt_download", number=receipt.number)
        _send(
            patron=patron,
            template="thank_you",
            subject=_("Thank you for your support"),
            context={
                "payment": payment,
                "paid_on": timezone.localtime(payment.paid_at).date(),
                "tier_name": _tier_name(payment.patronage),
                "is_recurring": bool(payment.patronage and payment.patronage.is_recurring),
                "confirmation_url": absolute_url("fundraising:payment_confirmation", number=payment.number),
                "receipt": receipt,
                "receipt_url": receipt_url,
                "signup_url": _signup_url(patron),
            },
        )


def send_claim_account(*, patron) -> None:
    """A guest paid: invite them to create an account for their e-mail address to manage their support."""
    if not patron_reachable(patron) or patron.user_id is not None:
        return
    with in_patron_language(patron):
        _send(
            patron=patron,
            template="claim_account",
            subject=_("Manage your support with an account"),
            context={"signup_url": _signup_url(patron)},
        )


def send_payment_failed(*, patronage, fix_url: str) -> None:
    """A renewal failed: a link to fix the card (Stripe's hosted invoice page or the billing portal)."""
    patron = patronage.patron
    if not patron_reachable(patron):
        return
    with in_patron_language(patron):
        _send(
            patron=patron,
            template="payment_failed",
            subject=_("Your payment did not go through"),
            context={
                "patronage": patronage,
                "tier_name": _tier_name(patronage),
                "fix_url": fix_url,
                "perks_until": timezone.localtime(
                    (patronage.payment_failed_at or timezone.now())
                    + datetime.timedelta(days=settings.PATRON_GRACE_DAYS)
                ).date(),
                "has_perks": patronage.kind == "perk",
            },
        )


def send_perks_suspended(*, patronage) -> None:
    """The grace period is over and the payment is still missing: perks are paused until it arrives."""
    patron = patronage.patron
    if not patron_reachable(patron):
        return
    with in_patron_language(patron):
        _send(
            patron=patron,
            template="perks_suspended",
            subject=_("Your perks are paused"),
            context={"patronage": patronage, "tier_name": _tier_name(patronage)},
        )


def send_subscription_ended(*, patronage) -> None:
    """The subscription ended (cancelled by the patron, or Stripe gave up after failed payments)."""
    patron = patronage.patron
    if not patron_reachable(patron):
        return
    with in_patron_language(patron):
        ended = patronage.ended_at or timezone.now()
        _send(
            patron=patron,
            template="subscription_ended",
            subject=_("Your support has ended"),
            context={
                "patronage": patronage,
                "tier_name": _tier_name(patronage),
                "ended_on": timezone.localtime(ended).date(),
                "site_url": _home_url(),
            },
        )


def send_annual_receipt_ready(*, receipt) -> None:
    """The annual collective donation receipt for last year can be downloaded."""
    patron = receipt.patron
    if not patron_reachable(patron):
        return
    with in_patron_language(patron):
        _send(
            patron=patron,
            template="annual_receipt_ready",
            subject=_("Your donation receipt for %(year)s") % {"year": receipt.period_end.year},
            context={
                "receipt": receipt,
                "year": receipt.period_end.year,
                "receipt_url": absolute_url("fundraising:receipt_download", number=receipt.number),
            },
        )
