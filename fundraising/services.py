"""Workflows of fundraising: start a checkout, and apply what Stripe reports to patrons and the books.

Every handler of a Stripe event is idempotent on Stripe's ids (a charge is booked once under
``stripe:charge:<id>``, a refund under ``stripe:refund:<id>``, ...) and tolerant of order: events may
arrive in any order, so each one creates what it needs (patron, patronage) from the checkout's
metadata, and an older subscription state never overwrites a newer one.

Money into the ledger (DOMAIN.md 1, 2):
- a one-time gift: gross to ``income-donations`` (sphere 1);
- a recurring donation-tier payment (or a perk tier with "no perks"): gross to ``income-patrons-no-perks``
  (sphere 1);
- a perk-tier payment: net to ``income-patrons-perks`` (sphere 4) and the included VAT to VAT payable;
- on the other side Stripe's fee to ``expense-payment-fees`` and the rest to the ``stripe`` balance, in
  EUR from the balance transaction (the original amount and currency kept on the income line).
Refunds and lost disputes post reversing transactions; events for a closed month are booked on the
first open day (``ledger.services.first_open_day``) with the original date in the source reference.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import hmac
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.alerts import alert_finance
from config.celery import TransientError
from ledger.services import PostingLine, document_number_next, first_open_day, transaction_post
from payments import types
from payments.errors import PaymentError
from payments.gateway import PaymentsNotConfigured, gateway

from . import emails
from .models import (
    CheckoutAttempt,
    Dispute,
    Interval,
    Kind,
    Patron,
    Patronage,
    Payment,
    Refund,
    Tier,
)

logger = logging.getLogger(__name__)

# Off while the demo seeder replays two years of events: no e-mails, no receipt PDFs queued.
_side_effects = contextvars.ContextVar("fundraising_side_effects", default=True)


@contextlib.contextmanager
def side_effects_suppressed():
    token = _side_effects.set(False)
    try:
        yield
    finally:
        _side_effects.reset(token)


def _on_commit(callback) -> None:
    """Queue a side effect (e-mail, task) for after commit, unless side effects are suppressed."""
    if _side_effects.get():
        transaction.on_commit(callback)


CENT = Decimal("0.01")
ZERO = Decimal("0.00")

ACCOUNT_STRIPE = "stripe"
ACCOUNT_FEES = "expense-payment-fees"
ACCOUNT_RECEIVABLES = "receivables"
ACCOUNT_DONATIONS = "income-donations"
ACCOUNT_PATRONS_NO_PERKS = "income-patrons-no-perks"
ACCOUNT_PATRONS_PERKS = "income-patrons-perks"


class CheckoutRefused(Exception):
    """The checkout cannot start; ``str(error)`` is a message for the person (generic on abuse)."""


class CheckoutRateLimited(CheckoutRefused):
    """Too many checkouts from one address or browser session in the last hour (HTTP 429)."""


# --- Checkout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutChoice:
    """What the person picked on the checkout page, validated by the form."""

    tier: Tier | None
    interval: str
    amount: Decimal
    currency: str
    no_perks: bool = False

    @property
    def kind(self) -> str:
        if self.tier is not None and self.tier.is_perk_tier and not self.no_perks:
            return Kind.PERK
        return Kind.DONATION


def _hash(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def checkout_choice_check(*, choice: CheckoutChoice) -> None:
    """The server-side rules, whatever the form sent: amounts, offered tiers, slots."""
    if choice.interval not in Interval.values:
        raise CheckoutRefused(_("Choose monthly, yearly or once."))
    if choice.currency not in ("eur", "usd"):
        raise CheckoutRefused(_("Choose EUR or USD."))
    if choice.tier is not None:
        if not Tier.objects.offered().filter(pk=choice.tier.pk).exists():
            raise CheckoutRefused(_("This tier is not offered any more. Please pick another one."))
        expected = choice.tier.amount_for(choice.interval)
        if expected is None or choice.amount != expected or choice.currency != choice.tier.currency:
            raise CheckoutRefused(_("This tier is not offered with that payment interval."))
        if choice.tier.slot_limit is not None:
            taken = Patronage.objects.active().filter(tier=choice.tier).count()
            if taken >= choice.tier.slot_limit:
                raise CheckoutRefused(_("All places in this tier are taken. Please pick another one."))
    elif not settings.PATRON_MIN_AMOUNT <= choice.amount <= settings.PATRON_MAX_AMOUNT:
        raise CheckoutRefused(
            _("Please choose an amount from %(min)s to %(max)s.")
            % {"min": settings.PATRON_MIN_AMOUNT, "max": settings.PATRON_MAX_AMOUNT}
        )
    if choice.amount != choice.amount.quantize(CENT) or choice.amount <= 0:
        raise CheckoutRefused(_("Please enter an amount in euros and cents, e.g. 12.50."))


def _rate_limit_check(*, ip_hash: str, session_hash: str) -> None:
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    recent = CheckoutAttempt.objects.filter(created__gte=hour_ago)
    too_many = recent.filter(client_ip_hash=ip_hash).count() >= settings.CHECKOUT_LIMIT_PER_IP or (
        session_hash
        and recent.filter(session_key_hash=session_hash).count() >= settings.CHECKOUT_LIMIT_PER_SESSION
    )
    if too_many:
        logger.warning("fundraising: checkout rate limit reached for ip %s", ip_hash[:12])
        # Generic on purpose: card testers learn nothing from it.
        raise CheckoutRateLimited(_("We could not start the payment. Please try again later."))


def checkout_start(
    *,
    choice: CheckoutChoice,
    user,
    language: str,
    client_ip: str,
    session_key: str,
    success_url: str,
    cancel_url: str,
) -> types.CheckoutSession:
    """Record the attempt (its id is the idempotency key), then ask Stripe for a Checkout Session.

    The Stripe call runs after the attempt is committed and outside any transaction. Raises
    ``CheckoutRefused`` (rules, rate limits, payments switched off) or ``PaymentError``.
    """
    checkout_choice_check(choice=choice)
    ip_hash = _hash(client_ip or "unknown")
    session_hash = _hash(session_key) if session_key else ""
    _rate_limit_check(ip_hash=ip_hash, session_hash=session_hash)
    user = user if getattr(user, "is_authenticated", False) else None
    attempt = CheckoutAttempt.objects.create(
        user=user,
        tier=choice.tier,
        kind=choice.kind,
        amount=choice.amount,
        currency=choice.currency,
        interval=choice.interval,
        language=language,
        client_ip_hash=ip_hash,
        session_key_hash=session_hash,
    )
    patron = Patron.objects.filter(user=user).first() if user else None
    tier = choice.tier
    product_name = (
        tier.name
        if tier
        else (_("Monthly support") if choice.interval != Interval.ONCE else _("One-time gift"))
    )
    request = types.CheckoutRequest(
        idempotency_key=attempt.idempotency_key,
        mode="payment" if choice.interval == Interval.ONCE else "subscription",
        interval="" if choice.interval == Interval.ONCE else choice.interval,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={
            "checkout_attempt": str(attempt.pk),
            "kind": choice.kind,
            "tier": tier.slug if tier else "",
            "interval": choice.interval,
            "language": language,
        },
        price_lookup_key=tier.price_lookup_key(choice.interval) if tier else "",
        amount=choice.amount,
        currency=choice.currency,
        product_name=product_name,
        customer_id=(patron.stripe_customer_id or "") if patron else "",
        customer_email="" if patron and patron.stripe_customer_id else (user.email if user else ""),
        locale=language if language in ("de", "en") else "auto",
        collect_address=choice.kind == Kind.DONATION,
        automatic_tax=settings.STRIPE_TAX_ENABLED and choice.kind == Kind.PERK,
    )
    try:
        if tier is not None:
            tiers_sync(tiers=[tier])
        session = gateway().checkout_create(request=request)
    except (PaymentError, PaymentsNotConfigured) as error:
        CheckoutAttempt.objects.filter(pk=attempt.pk).update(
            status=CheckoutAttempt.Status.ERROR, finished_at=timezone.now()
        )
        if isinstance(error, PaymentsNotConfigured):
            raise CheckoutRefused(_("Payments are not switched on for this site yet.")) from error
        raise
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(stripe_session_id=session.id)
    return session


def tiers_sync(*, tiers=None) -> None:
    """Make Stripe's Products and Prices match the tiers (lookup keys carry the amount)."""
    tiers = list(tiers) if tiers is not None else list(Tier.objects.filter(live=True))
    specs = []
    for tier in tiers:
        prices = tuple(
            types.PriceSpec(
                lookup_key=tier.price_lookup_key(interval),
                amount=tier.amount_for(interval),
                currency=tier.currency,
                interval=interval,
            )
            for interval in (Interval.MONTH, Interval.YEAR)
            if tier.amount_for(interval) is not None
        )
        specs.append(
            types.ProductSpec(
                key=f"tier-{tier.slug}",
                name=tier.name,
                description=tier.description[:500],
                active=tier.active and tier.live,
                prices=prices,
            )
        )
    if specs:
        gateway().products_sync(products=specs)


# --- Who and what an event is about ---------------------------------------------------------------


def _attempt(metadata: dict) -> CheckoutAttempt | None:
    value = metadata.get("checkout_attempt", "")
    try:
        return (
            CheckoutAttempt.objects.filter(pk=value).select_related("tier", "user").first() if value else None
        )
    except (ValueError, ValidationError):  # not a UUID: metadata set elsewhere (the Dashboard, another app)
        return None


def _patron_for(
    *,
    customer_id: str,
    attempt: CheckoutAttempt | None,
    email: str = "",
    name: str = "",
    address=None,
    language="",
) -> Patron:
    """The patron an event is about, created on first sight (events may come in any order)."""
    patron = Patron.objects.filter(stripe_customer_id=customer_id).first() if customer_id else None
    user = attempt.user if attempt else None
    if patron is None and user is not None:
        patron = Patron.objects.filter(user=user).first()
        if patron is not None and customer_id and not patron.stripe_customer_id:
            patron.stripe_customer_id = customer_id
            patron.save(update_fields=["stripe_customer_id"])
    if patron is None:
        defaults = {
            "user": user,
            "email": email or (user.email if user else ""),
            "language": (attempt.language if attempt else language) or "en",
        }
        try:
            with transaction.atomic():
                if customer_id:
                    patron, _created = Patron.objects.get_or_create(
                        stripe_customer_id=customer_id, defaults=defaults
                    )
                else:
                    patron = Patron.objects.create(**defaults)
        except IntegrityError:  # the same user's patron created by a concurrent event: use it
            patron = Patron.objects.get(user=user)
    changed = []
    if patron.erased_at is None:
        for field, value in (("email", email), ("name", name)):
            if value and not getattr(patron, field):
                setattr(patron, field, value)
                changed.append(field)
        if address is not None and address.line1 and not patron.address_line1:
            patron.address_line1, patron.address_line2 = address.line1, address.line2
            patron.postal_code, patron.city, patron.country = (
                address.postal_code,
                address.city,
                address.country,
            )
            changed += ["address_line1", "address_line2", "postal_code", "city", "country"]
    if changed:
        patron.save(update_fields=changed)
    return patron


def _tier_from_lookup_key(lookup_key: str) -> Tier | None:
    """``tier-<slug>-<interval>-<currency>-<cents>`` -> the tier (slugs may contain hyphens)."""
    if not lookup_key.startswith("tier-"):
        return None
    slug = lookup_key[len("tier-") :].rsplit("-", 3)[0]
    return Tier.objects.filter(slug=slug).first()


def _patronage_for(
    *,
    patron: Patron,
    attempt: CheckoutAttempt | None,
    metadata: dict,
    subscription_id: str = "",
    session_id: str = "",
    amount: Decimal | None = None,
    currency: str = "eur",
    interval: str = "",
) -> Patronage:
    existing = None
    if subscription_id:
        existing = Patronage.objects.filter(stripe_subscription_id=subscription_id).first()
    if existing is None and session_id:
        existing = Patronage.objects.filter(checkout_session_id=session_id).first()
    if existing is not None:
        return existing
    tier = attempt.tier if attempt else Tier.objects.filter(slug=metadata.get("tier") or "-").first()
    kind = attempt.kind if attempt else (metadata.get("kind") or Kind.DONATION)
    interval = interval or (attempt.interval if attempt else metadata.get("interval", Interval.MONTH))
    lookup = (
        {"stripe_subscription_id": subscription_id}
        if subscription_id
        else {"checkout_session_id": session_id}
    )
    defaults = {
        "patron": patron,
        "tier": tier,
        "kind": kind if kind in Kind.values else Kind.DONATION,
        "amount": attempt.amount if attempt else (amount or ZERO),
        "currency": attempt.currency if attempt else currency,
        "interval": interval if interval in Interval.values else Interval.MONTH,
    }
    if subscription_id and session_id:
        defaults["checkout_session_id"] = session_id
    with transaction.atomic():
        patronage, _created = Patronage.objects.get_or_create(**lookup, defaults=defaults)
    return patronage


# --- Event handlers -------------------------------------------------------------------------------


def checkout_complete(*, event: types.CheckoutCompleted) -> Patronage:
    attempt = _attempt(event.metadata)
    patron = _patron_for(
        customer_id=event.customer_id,
        attempt=attempt,
        email=event.customer_email,
        name=event.customer_name,
        address=event.address,
        language=event.locale,
    )
    patronage = _patronage_for(
        patron=patron,
        attempt=attempt,
        metadata=event.metadata,
        subscription_id=event.subscription_id,
        session_id=event.session_id,
        amount=event.amount_total,
        currency=event.currency,
        interval=Interval.ONCE if event.mode == "payment" else "",
    )
    if event.subscription_id and not patronage.checkout_session_id:
        Patronage.objects.filter(pk=patronage.pk, checkout_session_id__isnull=True).update(
            checkout_session_id=event.session_id
        )
    if attempt is not None and attempt.status == CheckoutAttempt.Status.CREATED:
        CheckoutAttempt.objects.filter(pk=attempt.pk).update(
            status=CheckoutAttempt.Status.COMPLETED, finished_at=timezone.now()
        )
        if patron.user_id is None and patron.email:
            _on_commit(lambda: emails.send_claim_account(patron=patron))
    return patronage


def checkout_fail(*, event: types.CheckoutFailed) -> None:
    attempt = _attempt(event.metadata)
    if attempt is None or attempt.status not in (CheckoutAttempt.Status.CREATED,):
        return
    status = CheckoutAttempt.Status.EXPIRED if event.reason == "expired" else CheckoutAttempt.Status.FAILED
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(status=status, finished_at=timezone.now())
    if status == CheckoutAttempt.Status.FAILED:
        Patronage.objects.filter(checkout_session_id=event.session_id, interval=Interval.ONCE).update(
            status=Patronage.Status.FAILED
        )
        _on_commit(checkout_failure_share_check)


def checkout_failure_share_check() -> float:
    """Alert finance when the share of failed checkouts in the last hour jumps (card testing)."""
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    recent = CheckoutAttempt.objects.filter(created__gte=hour_ago)
    total = recent.count()
    failed = recent.filter(status__in=(CheckoutAttempt.Status.FAILED, CheckoutAttempt.Status.ERROR)).count()
    share = failed / total if total else 0.0
    if total >= 10 and share > settings.CHECKOUT_FAILURE_ALERT_SHARE:
        alert_finance(
            subject="Many failed checkouts",
            message=f"{failed} of the last hour's {total} checkouts failed ({share:.0%}). "
            "This can be card testing: check Stripe's Radar and consider lowering CHECKOUT_LIMIT_PER_IP.",
            dedupe_key=f"failed-checkouts:{timezone.now():%Y%m%d%H}",
        )
    return share


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _included_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """VAT contained in a gross amount: gross × rate / (100 + rate), to the cent."""
    return _round(gross * rate / (Decimal(100) + rate)) if rate else ZERO


def _income_account(patronage: Patronage) -> str:
    if patronage.kind == Kind.PERK:
        return ACCOUNT_PATRONS_PERKS
    return ACCOUNT_DONATIONS if patronage.interval == Interval.ONCE else ACCOUNT_PATRONS_NO_PERKS


def _vat_account(rate: Decimal) -> str:
    return f"vat-payable-{int(rate)}"


def _booking_date(moment: datetime.datetime) -> tuple[datetime.date, str]:
    """The day to book on (first open day if the month is closed) and a note of the original date."""
    original = timezone.localtime(moment).date()
    booked = first_open_day(original)
    note = "" if booked == original else f"; booked late, original date {original:%Y-%m-%d}"
    return booked, note


def _income_lines(
    *,
    patronage: Patronage,
    amount_eur: Decimal,
    vat_eur: Decimal,
    vat_rate: Decimal,
    original=None,
    currency="eur",
) -> list[PostingLine]:
    """Credit lines (negative) for income and VAT totalling ``-amount_eur``."""
    foreign = currency != "eur" and original is not None
    lines = [
        PostingLine(
            account=_income_account(patronage),
            amount=-(amount_eur - vat_eur),
            original_amount=-original if foreign else None,
            original_currency=currency.upper() if foreign else "",
        )
    ]
    if vat_eur:
        lines.append(PostingLine(account=_vat_account(vat_rate), amount=-vat_eur))
    return lines


def payment_record(*, event: types.PaymentSucceeded) -> Payment:
    """Book a payment once (keyed on the charge), whichever event reports it first."""
    existing = Payment.objects.filter(stripe_charge_id=event.charge_id).first()
    if existing is not None:
        return existing
    attempt = _attempt(event.metadata)
    patron = _patron_for(
        customer_id=event.customer_id,
        attempt=attempt,
        email=event.customer_email,
        name=event.customer_name,
        address=event.address,
    )
    patronage = _patronage_for(
        patron=patron,
        attempt=attempt,
        metadata=event.metadata,
        subscription_id=event.subscription_id,
        session_id=event.checkout_session_id,
        amount=event.amount,
        currency=event.currency,
        interval=Interval.ONCE if event.billing_reason == "checkout" else "",
    )
    settlement = event.settlement
    vat_rate = ZERO
    vat = vat_eur = ZERO
    if patronage.kind == Kind.PERK:
        vat_rate = patronage.tier.vat_rate if patronage.tier else Decimal("19.00")
        if event.tax_amount:
            vat = event.tax_amount
            vat_eur = (
                _round(event.tax_amount * settlement.amount_eur / event.amount) if event.amount else ZERO
            )
        else:
            vat = _included_vat(event.amount, vat_rate)
            vat_eur = _included_vat(settlement.amount_eur, vat_rate)
    booking_date, late_note = _booking_date(event.paid_at)
    try:
        return _payment_create(
            event=event,
            patron=patron,
            patronage=patronage,
            vat_rate=vat_rate,
            vat=vat,
            vat_eur=vat_eur,
            booking_date=booking_date,
            late_note=late_note,
        )
    except IntegrityError:
        # Another worker booked this charge a moment ago (its own event for the same charge).
        existing = Payment.objects.filter(stripe_charge_id=event.charge_id).first()
        if existing is None:
            raise
        return existing


def _payment_create(*, event, patron, patronage, vat_rate, vat, vat_eur, booking_date, late_note) -> Payment:
    settlement = event.settlement
    with transaction.atomic():
        year = timezone.localtime(event.paid_at).year
        payment = Payment.objects.create(
            stripe_charge_id=event.charge_id,
            payment_intent_id=event.payment_intent_id,
            invoice_id=event.invoice_id,
            patron=patron,
            patronage=patronage,
            kind=patronage.kind,
            number=document_number_next(series="RP" if patronage.kind == Kind.PERK else "ZP", year=year),
            amount=event.amount,
            vat_rate=vat_rate,
            vat_amount=vat,
            currency=event.currency,
            amount_eur=settlement.amount_eur,
            fee_eur=settlement.fee_eur,
            net_eur=settlement.net_eur,
            paid_at=event.paid_at,
            period_start=event.period_start,
            period_end=event.period_end,
        )
        lines = [PostingLine(account=ACCOUNT_STRIPE, amount=settlement.net_eur)] if settlement.net_eur else []
        if settlement.fee_eur:
            lines.append(PostingLine(account=ACCOUNT_FEES, amount=settlement.fee_eur))
        lines += _income_lines(
            patronage=patronage,
            amount_eur=settlement.amount_eur,
            vat_eur=vat_eur,
            vat_rate=vat_rate,
            original=event.amount,
            currency=event.currency,
        )
        transaction_post(
            booking_date=booking_date,
            description=f"{'Perk tier' if patronage.kind == Kind.PERK else 'Donation'} {payment.number}",
            idempotency_key=f"stripe:charge:{event.charge_id}",
            source_reference=f"charge {event.charge_id}{late_note}"[:200],
            lines=lines,
        )
        updates = {}
        if patronage.interval == Interval.ONCE:
            updates["status"] = Patronage.Status.PAID
        elif patronage.status in (
            Patronage.Status.INCOMPLETE,
            Patronage.Status.PAST_DUE,
            Patronage.Status.UNPAID,
        ):
            updates["status"] = Patronage.Status.ACTIVE
        if patronage.payment_failed_at or patronage.perks_suspended_at:
            updates.update(payment_failed_at=None, perks_suspended_at=None)
        if updates:
            Patronage.objects.filter(pk=patronage.pk).update(**updates)
        _on_commit(lambda: _after_payment(payment.pk))
    return payment


def _after_payment(payment_id: int) -> None:
    payment = Payment.objects.select_related("patron", "patronage").get(pk=payment_id)
    emails.send_thank_you(payment=payment)
    if payment.kind == Kind.DONATION and payment.patronage and payment.patronage.interval == Interval.ONCE:
        from .receipt_tasks import receipt_issue_single

        receipt_issue_single.delay(payment_id)


def payment_failure_record(*, event: types.PaymentFailed) -> Patronage | None:
    """A renewal failed: start the grace period and tell the patron how to fix it (once per failure)."""
    patronage = (
        Patronage.objects.filter(stripe_subscription_id=event.subscription_id)
        .select_related("patron")
        .first()
    )
    if patronage is None:
        if event.subscription_id:
            raise TransientError(
                f"No patronage yet for {event.subscription_id}; retry after its creation event."
            )
        return None
    if patronage.payment_failed_at is not None:
        return patronage
    Patronage.objects.filter(pk=patronage.pk, payment_failed_at__isnull=True).update(
        payment_failed_at=event.event_created
    )
    fix_url = event.hosted_invoice_url or settings.SITE_URL.rstrip("/") + reverse("fundraising:my_support")
    _on_commit(lambda: emails.send_payment_failed(patronage=patronage, fix_url=fix_url))
    return patronage


SUBSCRIPTION_STATUSES = set(Patronage.Status.values) - {Patronage.Status.PAID, Patronage.Status.FAILED}


def patronage_sync(*, event: types.SubscriptionChanged) -> Patronage:
    """Mirror Stripe's subscription state, never letting an older event overwrite a newer state."""
    attempt = _attempt(event.metadata)
    patronage = Patronage.objects.filter(stripe_subscription_id=event.subscription_id).first()
    if patronage is None:
        patron = _patron_for(customer_id=event.customer_id, attempt=attempt)
        patronage = _patronage_for(
            patron=patron,
            attempt=attempt,
            metadata=event.metadata,
            subscription_id=event.subscription_id,
            amount=event.amount,
            currency=event.currency,
            interval=event.interval,
        )
    with transaction.atomic():
        patronage = (
            Patronage.objects.select_for_update(of=("self",))
            .select_related("patron", "tier")
            .get(pk=patronage.pk)
        )
        if patronage.status == Patronage.Status.CANCELED:
            return patronage  # an ended subscription never comes back at Stripe
        if patronage.state_at and event.event_created < patronage.state_at:
            logger.info(
                "fundraising: ignoring older state of %s from %s", event.subscription_id, event.event_id
            )
            return patronage
        status = Patronage.Status.CANCELED if event.deleted else event.status
        if status not in SUBSCRIPTION_STATUSES:
            status = patronage.status
        was = patronage.status
        patronage.status = status
        patronage.state_at = event.event_created
        patronage.current_period_end = event.current_period_end
        patronage.cancel_at_period_end = event.cancel_at_period_end
        if event.amount and event.interval in (Interval.MONTH, Interval.YEAR):
            patronage.amount, patronage.currency, patronage.interval = (
                event.amount,
                event.currency,
                event.interval,
            )
        tier = _tier_from_lookup_key(event.price_lookup_key)
        if tier is not None and tier != patronage.tier:
            patronage.tier = tier
            no_perks = attempt is not None and attempt.tier is not None and attempt.kind == Kind.DONATION
            patronage.kind = Kind.DONATION if (no_perks or not tier.is_perk_tier) else Kind.PERK
        if status == Patronage.Status.ACTIVE:
            patronage.payment_failed_at = None
            patronage.perks_suspended_at = None
        elif (
            status in (Patronage.Status.PAST_DUE, Patronage.Status.UNPAID) and not patronage.payment_failed_at
        ):
            patronage.payment_failed_at = event.event_created
        if status == Patronage.Status.CANCELED and was != status:
            patronage.ended_at = event.canceled_at or event.event_created
            _on_commit(lambda: emails.send_subscription_ended(patronage=patronage))
        patronage.save()
    return patronage


def _payment_for_charge(charge_id: str) -> Payment:
    payment = Payment.objects.select_related("patronage").filter(stripe_charge_id=charge_id).first()
    if payment is None:
        # The payment's own event has not been processed yet (events come in any order): retry later.
        raise TransientError(f"No payment booked yet for charge {charge_id}; retry after it is.")
    return payment


def _reversal_lines(*, payment: Payment, amount_eur: Decimal, counter_account: str) -> list[PostingLine]:
    """Debit income (and VAT) for ``amount_eur`` of ``payment``, credit ``counter_account``."""
    vat_eur = ZERO
    if payment.vat_amount:
        original_vat_eur = (
            _round(payment.vat_amount * payment.amount_eur / payment.amount) if payment.amount else ZERO
        )
        vat_eur = _round(original_vat_eur * amount_eur / payment.amount_eur) if payment.amount_eur else ZERO
    lines = [
        PostingLine(account=line.account, amount=-line.amount)
        for line in _income_lines(
            patronage=payment.patronage, amount_eur=amount_eur, vat_eur=vat_eur, vat_rate=payment.vat_rate
        )
    ]
    lines.append(PostingLine(account=counter_account, amount=-amount_eur))
    return lines


def refund_record(*, event: types.RefundIssued) -> Refund:
    """Book one refund once: income and VAT reversed for the refunded share, paid out of the Stripe balance."""
    existing = Refund.objects.filter(stripe_refund_id=event.refund_id).first()
    if existing is not None:
        return existing
    payment = _payment_for_charge(event.charge_id)
    booking_date, late_note = _booking_date(event.created)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",)).select_related("patronage").get(pk=payment.pk)
        )
        refund = Refund.objects.create(
            stripe_refund_id=event.refund_id,
            payment=payment,
            amount=event.amount,
            amount_eur=event.amount_eur,
            created=event.created,
        )
        lines = _reversal_lines(payment=payment, amount_eur=event.amount_eur, counter_account=ACCOUNT_STRIPE)
        if event.fee_refunded_eur:
            lines += [
                PostingLine(account=ACCOUNT_STRIPE, amount=event.fee_refunded_eur),
                PostingLine(account=ACCOUNT_FEES, amount=-event.fee_refunded_eur),
            ]
        transaction_post(
            booking_date=booking_date,
            description=f"Refund of {payment.number}",
            idempotency_key=f"stripe:refund:{event.refund_id}",
            source_reference=f"refund {event.refund_id} of charge {event.charge_id}{late_note}"[:200],
            lines=lines,
        )
        payment.refunded_amount = min(payment.amount, payment.refunded_amount + event.amount)
        payment.status = (
            Payment.Status.REFUNDED
            if payment.refunded_amount >= payment.amount
            else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["refunded_amount", "status"])
    return refund


def dispute_record(*, event: types.DisputeChanged) -> Dispute:
    """A dispute takes the money and a fee from the Stripe balance at once (a claim while it runs);
    lost, the income is reversed against the claim; won, the money comes back."""
    payment = _payment_for_charge(event.charge_id)
    with transaction.atomic():
        dispute, _created = Dispute.objects.get_or_create(
            stripe_dispute_id=event.dispute_id,
            defaults={
                "payment": payment,
                "status": event.status,
                "reason": event.reason,
                "amount": event.amount,
                "amount_eur": event.amount_eur,
                "fee_eur": event.fee_eur,
                "opened_at": event.created,
            },
        )
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        booking_date, late_note = _booking_date(event.created)
        # The disputed share of the payment in EUR, from the payment itself: a dispute's balance
        # transactions net out to zero once it is won, so they cannot tell what was withdrawn.
        disputed_eur = (
            _round(payment.amount_eur * min(event.amount, payment.amount) / payment.amount)
            if payment.amount
            else payment.amount_eur
        )
        withdrawn = [PostingLine(account=ACCOUNT_RECEIVABLES, amount=disputed_eur)]
        if event.fee_eur:
            withdrawn.append(PostingLine(account=ACCOUNT_FEES, amount=event.fee_eur))
        withdrawn.append(PostingLine(account=ACCOUNT_STRIPE, amount=-(disputed_eur + event.fee_eur)))
        transaction_post(
            booking_date=booking_date,
            description=f"Dispute opened on {payment.number}",
            idempotency_key=f"stripe:dispute:{event.dispute_id}:opened",
            source_reference=f"dispute {event.dispute_id}{late_note}"[:200],
            lines=withdrawn,
        )
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PAID).update(
            status=Payment.Status.DISPUTED
        )
        if event.closed and dispute.closed_at is None:
            closed_on, closed_note = _booking_date(event.event_created)
            if event.status == "lost":
                lines = _reversal_lines(
                    payment=payment, amount_eur=disputed_eur, counter_account=ACCOUNT_RECEIVABLES
                )
                key, description, status = (
                    "lost",
                    f"Dispute lost on {payment.number}",
                    Payment.Status.DISPUTE_LOST,
                )
            else:
                lines = [
                    PostingLine(account=ACCOUNT_STRIPE, amount=disputed_eur),
                    PostingLine(account=ACCOUNT_RECEIVABLES, amount=-disputed_eur),
                ]
                key, description, status = "won", f"Dispute won on {payment.number}", Payment.Status.PAID
            transaction_post(
                booking_date=closed_on,
                description=description,
                idempotency_key=f"stripe:dispute:{event.dispute_id}:{key}",
                source_reference=f"dispute {event.dispute_id}{closed_note}"[:200],
                lines=lines,
            )
            Payment.objects.filter(pk=payment.pk).update(status=status)
            dispute.closed_at = event.event_created
        if dispute.state_at is None or event.event_created >= dispute.state_at:
            dispute.status, dispute.state_at = event.status, event.event_created
        dispute.save()
    if _created:
        _on_commit(
            lambda: alert_finance(
                subject="A payment is disputed",
                message=f"Dispute {event.dispute_id} on payment {payment.number} "
                f"({event.amount} {event.currency.upper()}, reason: {event.reason}). Answer it in Stripe's dashboard.",
                dedupe_key=f"dispute:{event.dispute_id}",
            )
        )
    return dispute


def fraud_warning_record(*, event: types.FraudWarning) -> None:
    payment = Payment.objects.filter(stripe_charge_id=event.charge_id).first()
    _on_commit(
        lambda: alert_finance(
            subject="Early fraud warning",
            message=f"Stripe warns of fraud ({event.fraud_type}) on charge {event.charge_id}"
            f"{f' (payment {payment.number})' if payment else ''}. Consider refunding it before a dispute is opened.",
            dedupe_key=f"efw:{event.warning_id}",
        )
    )


# --- Daily upkeep ---------------------------------------------------------------------------------


def perks_suspend_overdue(*, now: datetime.datetime | None = None) -> int:
    """Suspend the perks of patronages whose payment is still missing after the grace period."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PATRON_GRACE_DAYS)
    overdue = Patronage.objects.filter(
        kind=Kind.PERK,
        status__in=(Patronage.Status.PAST_DUE, Patronage.Status.UNPAID),
        payment_failed_at__lt=cutoff,
        perks_suspended_at__isnull=True,
    )
    count = 0
    for patronage in overdue.select_related("patron"):
        with transaction.atomic():
            if Patronage.objects.filter(pk=patronage.pk, perks_suspended_at__isnull=True).update(
                perks_suspended_at=now
            ):
                count += 1
                _on_commit(lambda p=patronage: emails.send_perks_suspended(patronage=p))
    return count


def daily_upkeep() -> None:
    perks_suspend_overdue()
    try:
        from .privacy import retention_purge
    except ImportError:
        return
    retention_purge(today=timezone.localdate())
