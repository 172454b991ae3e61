"""Demo patrons: tiers, recurring patrons with churn, one-time gifts, a failed payment, a refund, a lost
dispute and monthly Stripe payouts, over the same 24 months as the demo books.

Everything goes through the services real Stripe events use: the seeder builds the dataclasses that
``payments.normalise`` would produce and hands them to ``payments.services.events_dispatch``. Keys are
derived from fixed demo ids, so a second run books nothing new. E-mails and receipt PDFs are
suppressed while seeding (receipts are rendered on first download).

Scale: ``RECURRING_PATRONS`` and ``ONE_TIME_DONORS`` are kept at a size SQLite books within the
5-minute seeding budget (about 15 ms a payment through the full service path); the monthly figures are
therefore smaller than Mastodon's ~7,400 patrons. Raise them for a bigger demo on PostgreSQL.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from ledger.demo import MONTHS, window
from payments import types
from payments.services import events_dispatch

from .models import Kind, Patron, Patronage, Payment, Tier
from .services import side_effects_suppressed

ORDER = 50  # before the ledger's seeder closes the demo months
PROVIDES = frozenset({"patrons", "donations", "payment_fees"})

RECURRING_PATRONS = 420
ONE_TIME_DONORS = 260
USD_RATE = Decimal("0.92")
CENT = Decimal("0.01")

TIERS = [
    # slug, name, German name, kind, monthly, yearly, slots, description EN, description DE, weight
    (
        "coffee",
        "Coffee",
        "Kaffee",
        Kind.DONATION,
        "3.00",
        "30.00",
        None,
        "A small monthly donation. No perks: tax-deductible, with a donation receipt.",
        "Eine kleine monatliche Spende. Ohne Gegenleistung: steuerlich absetzbar, mit Zuwendungsbestätigung.",
        30,
    ),
    (
        "supporter",
        "Supporter",
        "Unterstützer:in",
        Kind.PERK,
        "5.00",
        "50.00",
        None,
        "A custom emoji on our server and the patron-only development updates.",
        "Ein eigenes Emoji auf unserem Server und die Entwicklungs-Updates für Unterstützer:innen.",
        34,
    ),
    (
        "champion",
        "Champion",
        "Champion",
        Kind.PERK,
        "10.00",
        "100.00",
        None,
        "Everything in Supporter, plus two more custom emoji.",
        "Alles aus „Unterstützer:in“ und zwei weitere eigene Emoji.",
        20,
    ),
    (
        "sustainer",
        "Sustainer",
        "Förderer:in",
        Kind.DONATION,
        "25.00",
        "250.00",
        None,
        "A generous monthly donation without perks, fully tax-deductible.",
        "Eine großzügige monatliche Spende ohne Gegenleistung, voll steuerlich absetzbar.",
        10,
    ),
    (
        "hero",
        "Hero",
        "Held:in",
        Kind.PERK,
        "100.00",
        None,
        40,
        "Our warmest thanks, five custom emoji and a yearly video call with the team.",
        "Unser herzlichster Dank, fünf eigene Emoji und ein jährliches Videotelefonat mit dem Team.",
        5,
    ),
    (
        "benefactor",
        "Benefactor",
        "Mäzen:in",
        Kind.PERK,
        "500.00",
        None,
        10,
        "For people and small companies who carry a large part of the work.",
        "Für Menschen und kleine Firmen, die einen großen Teil der Arbeit tragen.",
        1,
    ),
]

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chiara",
    "Deniz",
    "Emil",
    "Fatima",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Lukas",
    "Mina",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sami",
    "Tara",
    "Uwe",
    "Vera",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Becker",
    "Costa",
    "Dubois",
    "Engel",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lang",
    "Meyer",
    "Nowak",
    "Okafor",
    "Peters",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Vogel",
    "Wagner",
]
SERVERS = ["mastodon.social", "chaos.social", "fosstodon.org", "social.example", "hachyderm.io"]


def _moment(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


def _settlement(key: str, amount: Decimal, currency: str) -> types.Settlement:
    amount_eur = (amount * USD_RATE).quantize(CENT, ROUND_HALF_UP) if currency == "usd" else amount
    fee = (amount_eur * Decimal("0.015") + Decimal("0.25")).quantize(CENT, ROUND_HALF_UP)
    return types.Settlement(
        charge_id=f"ch_demo_{key}",
        payment_intent_id=f"pi_demo_{key}",
        balance_transaction_id=f"txn_demo_{key}",
        amount_eur=amount_eur,
        fee_eur=fee,
        net_eur=amount_eur - fee,
        exchange_rate=USD_RATE if currency == "usd" else None,
    )


class _Replay:
    """Builds the normalised events of one demo patron and dispatches them, oldest first."""

    def __init__(self):
        self.events: list = []
        self.counter = 0

    def _base(self, moment: datetime.datetime) -> dict:
        self.counter += 1
        return {"event_id": f"evt_demo_{self.counter}", "event_created": moment, "livemode": False}

    def add(self, cls, moment, **fields):
        self.events.append(cls(**self._base(moment), **fields))

    def run(self):
        self.events.sort(key=lambda event: event.event_created)
        with transaction.atomic():
            events_dispatch(self.events)
        self.events = []


def seed(*, rng: random.Random, today: datetime.date, real_kinds, log: Callable[[str], None]) -> None:
    months = window(today)
    tiers = _seed_tiers()
    if Payment.objects.filter(stripe_charge_id__startswith="ch_demo_").exists():
        log(f"fundraising demo: already there ({Payment.objects.count()} payments)")
        return
    replay = _Replay()
    weights = [row[-1] for row in TIERS]
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        side_effects_suppressed(),
    ):
        for number in range(RECURRING_PATRONS):
            _recurring_patron(replay, rng, number, months, today, tiers, weights)
            if number % 50 == 49:
                replay.run()
        replay.run()
        for number in range(ONE_TIME_DONORS):
            _one_time_donor(replay, rng, number, months)
        replay.run()
        _refund_and_dispute(replay, months)
        replay.run()
        _payouts(replay, months)
        replay.run()
        _listing_choices(rng)
        _link_demo_patron()
        _started_at_first_payment()
    log(
        f"fundraising demo: {Patron.objects.count()} patrons, {Payment.objects.count()} payments, "
        f"{Tier.objects.count()} tiers"
    )


def _started_at_first_payment() -> None:
    """The replayed patronages were created today; they started with their first payment (monthly reports
    count patrons by when they started and ended)."""
    from django.db.models import Exists, OuterRef, Subquery

    payments = Payment.objects.filter(patronage=OuterRef("pk"))
    first_paid = payments.order_by("paid_at").values("paid_at")[:1]
    Patronage.objects.filter(Exists(payments)).update(started_at=Subquery(first_paid))


def _seed_tiers() -> dict[str, Tier]:
    tiers = {}
    for order, (slug, name, name_de, kind, monthly, yearly, slots, text, text_de, _weight) in enumerate(
        TIERS
    ):
        tier, created = Tier.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_de": name_de,
                "kind": kind,
                "monthly_amount": Decimal(monthly),
                "yearly_amount": Decimal(yearly) if yearly else None,
                "slot_limit": slots,
                "description": text,
                "description_de": text_de,
                "sort_order": order,
            },
        )
        if created:
            tier.save_revision().publish()
        tiers[slug] = tier
    return tiers


def _recurring_patron(replay, rng, number, months, today, tiers, weights) -> None:
    slug = rng.choices([row[0] for row in TIERS], weights=weights)[0]
    tier = tiers[slug]
    # More patrons join later on: the project grows.
    start_index = min(int(rng.triangular(0, MONTHS, MONTHS * 0.75)), MONTHS - 1)
    start = months[start_index].replace(day=rng.randint(1, 28))
    yearly = tier.yearly_amount is not None and rng.random() < 0.15
    interval = "year" if yearly else "month"
    amount = tier.amount_for(interval)
    currency = "usd" if rng.random() < 0.08 and tier.currency == "eur" else "eur"
    no_perks = tier.is_perk_tier and rng.random() < 0.1
    kind = Kind.DONATION if (no_perks or not tier.is_perk_tier) else Kind.PERK
    customer, subscription = f"cus_demo_{number}", f"sub_demo_{number}"
    metadata = {"tier": slug, "kind": kind, "interval": interval}
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    email = f"patron{number}@demo.example"
    address = types.Address(
        line1=f"Beispielweg {number % 90 + 1}", postal_code=f"{10000 + number}", city="Berlin", country="DE"
    )
    lookup_key = f"tier-{slug}-{interval}-{currency}-{int(amount * 100)}"
    step = 12 if yearly else 1

    def subscription_state(moment, status, period_end, deleted=False):
        replay.add(
            types.SubscriptionChanged,
            moment,
            subscription_id=subscription,
            customer_id=customer,
            status=status,
            price_lookup_key=lookup_key,
            amount=amount,
            currency=currency,
            interval=interval,
            current_period_end=_moment(period_end),
            cancel_at_period_end=False,
            canceled_at=moment if deleted else None,
            deleted=deleted,
            metadata=metadata,
        )

    replay.add(
        types.CheckoutCompleted,
        _moment(start, 11),
        session_id=f"cs_demo_{number}",
        mode="subscription",
        payment_status="paid",
        customer_id=customer,
        customer_email=email,
        customer_name=name,
        address=address,
        subscription_id=subscription,
        payment_intent_id="",
        amount_total=amount,
        currency=currency,
        locale=rng.choice(["de", "de", "en"]),
        metadata=metadata,
    )
    subscription_state(_moment(start, 11), "active", _add_months(start, step))
    day, cycle = start, 0
    while day < today:
        end = _add_months(day, step)
        failed = cycle > 0 and rng.random() < 0.015
        paid_on = day + datetime.timedelta(days=6) if failed else day
        if failed:
            replay.add(
                types.PaymentFailed,
                _moment(day, 3),
                invoice_id=f"in_demo_{number}_{cycle}",
                subscription_id=subscription,
                customer_id=customer,
                amount=amount,
                currency=currency,
                attempt_count=1,
                next_attempt_at=_moment(paid_on, 3),
                action_required=False,
                hosted_invoice_url="",
                metadata=metadata,
            )
            subscription_state(_moment(day, 4), "past_due", end)
        if paid_on >= today:
            break
        key = f"{number}_{cycle}"
        replay.add(
            types.PaymentSucceeded,
            _moment(paid_on, 12),
            charge_id=f"ch_demo_{key}",
            payment_intent_id=f"pi_demo_{key}",
            invoice_id=f"in_demo_{key}",
            subscription_id=subscription,
            customer_id=customer,
            checkout_session_id="",
            customer_email=email,
            customer_name=name,
            address=address,
            amount=amount,
            tax_amount=Decimal("0.00"),
            currency=currency,
            paid_at=_moment(paid_on, 12),
            settlement=_settlement(key, amount, currency),
            billing_reason="subscription_create" if cycle == 0 else "subscription_cycle",
            period_start=day,
            period_end=end,
            metadata=metadata,
        )
        if failed:
            subscription_state(_moment(paid_on, 13), "active", end)
        cycle += 1
        day = end
        if rng.random() < (0.12 if yearly else 0.035):  # churn
            if day < today:
                subscription_state(
                    _moment(day - datetime.timedelta(days=1), 18), "canceled", day, deleted=True
                )
            break


def _one_time_donor(replay, rng, number, months) -> None:
    month = rng.choice(months + [m for m in months if m.month == 12] * 3)  # December peak
    day = month.replace(day=rng.randint(1, 28))
    amount = Decimal(rng.choice([10, 20, 25, 30, 50, 50, 100, 100, 150, 250, 500]))
    key = f"gift_{number}"
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    metadata = {"kind": Kind.DONATION, "interval": "once", "tier": ""}
    address = types.Address(
        line1=f"Spendenallee {number % 50 + 1}", postal_code=f"{20000 + number}", city="Hamburg", country="DE"
    )
    common = {
        "customer_id": f"cus_demo_gift_{number}",
        "customer_email": f"donor{number}@demo.example",
        "customer_name": name,
        "address": address,
        "currency": "eur",
        "metadata": metadata,
    }
    replay.add(
        types.CheckoutCompleted,
        _moment(day),
        session_id=f"cs_demo_{key}",
        mode="payment",
        payment_status="paid",
        subscription_id="",
        payment_intent_id=f"pi_demo_{key}",
        amount_total=amount,
        locale="de",
        **common,
    )
    replay.add(
        types.PaymentSucceeded,
        _moment(day),
        charge_id=f"ch_demo_{key}",
        payment_intent_id=f"pi_demo_{key}",
        invoice_id="",
        subscription_id="",
        checkout_session_id=f"cs_demo_{key}",
        amount=amount,
        tax_amount=Decimal("0.00"),
        paid_at=_moment(day),
        settlement=_settlement(key, amount, "eur"),
        billing_reason="checkout",
        period_start=None,
        period_end=None,
        **common,
    )


def _refund_and_dispute(replay, months) -> None:
    payments = list(
        Payment.objects.filter(stripe_charge_id__startswith="ch_demo_").order_by("paid_at")[:400:100]
    )
    if len(payments) < 2:
        return
    refunded, disputed = payments[0], payments[1]
    refund_day = timezone.localtime(refunded.paid_at) + datetime.timedelta(days=3)
    replay.add(
        types.RefundIssued,
        refund_day,
        refund_id=f"re_demo_{refunded.pk}",
        charge_id=refunded.stripe_charge_id,
        amount=refunded.amount,
        currency=refunded.currency,
        amount_eur=refunded.amount_eur,
        fee_refunded_eur=Decimal("0.00"),
        created=refund_day,
    )
    opened = timezone.localtime(disputed.paid_at) + datetime.timedelta(days=20)
    for closed, moment, status in (
        (False, opened, "needs_response"),
        (True, opened + datetime.timedelta(days=30), "lost"),
    ):
        replay.add(
            types.DisputeChanged,
            moment,
            dispute_id=f"dp_demo_{disputed.pk}",
            charge_id=disputed.stripe_charge_id,
            amount=disputed.amount,
            currency=disputed.currency,
            amount_eur=disputed.amount_eur,
            fee_eur=Decimal("15.00"),
            status=status,
            reason="fraudulent",
            closed=closed,
            created=opened,
        )


def _payouts(replay, months) -> None:
    """On the 2nd of each month Stripe pays out last month's net income (what the balance holds)."""
    from ledger.models import Posting

    for month in months[1:] + [_add_months(months[-1], 1)]:
        previous = (month - datetime.timedelta(days=1)).replace(day=1)
        balance = Posting.objects.filter(account__code="stripe", booking_date__lt=month).total()
        if balance <= 0:
            continue
        arrival = month.replace(day=2)
        if arrival > timezone.localdate():
            break
        replay.add(
            types.PayoutPaid,
            _moment(arrival, 9),
            payout_id=f"po_demo_{previous:%Y%m}",
            amount_eur=balance,
            arrival_date=arrival,
        )
        replay.run()


def _listing_choices(rng) -> None:
    """About a third of the patrons want to be named on the supporters wall."""
    patrons = list(Patron.objects.filter(email__endswith="@demo.example").order_by("pk"))
    for patron in patrons:
        roll = rng.random()
        if roll < 0.18:
            patron.listing, patron.public_name = Patron.Listing.NAME, patron.name
        elif roll < 0.33:
            user = patron.name.split()[0].lower()
            patron.listing, patron.fediverse_handle = (
                Patron.Listing.HANDLE,
                f"@{user}{patron.pk}@{rng.choice(SERVERS)}",
            )
        patron.show_amount = rng.random() < 0.3
    Patron.objects.bulk_update(
        patrons, ["listing", "public_name", "fediverse_handle", "show_amount"], batch_size=500
    )


def _link_demo_patron() -> None:
    """The demo patron login owns a running perk-tier patronage with its payments."""
    from accounts.models import User

    user = User.objects.filter(email="patron@example.org").first()
    if user is None or Patron.objects.filter(user=user).exists():
        return
    patron = (
        Patron.objects.filter(patronages__status="active", patronages__kind=Kind.PERK, user__isnull=True)
        .order_by("pk")
        .first()
    )
    if patron is not None:
        patron.user, patron.email, patron.language = user, user.email, "en"
        patron.save(update_fields=["user", "email", "language"])
