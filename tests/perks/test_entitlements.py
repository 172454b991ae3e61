"""Perks follow the money: a patron walked through payment, failed renewal, grace period, recovery, cancellation."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from perks.emoji import emoji_pack_queryset
from perks.models import Emoji, Entitlement, EntitlementChange, Perk, PerkTier
from perks.services import emoji_allowance, entitlements_sync, entitlements_sync_all, has_perk
from tests.factories import stripe as s
from tests.factories.fundraising import PatronageFactory, TierFactory

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def perk_tier(db):
    tier = TierFactory(slug="emoji-tier", monthly_amount=Decimal("5.00"))
    emoji = Perk.objects.create(name="Custom emoji", kind=Perk.Kind.EMOJI)
    updates = Perk.objects.create(name="Updates", kind=Perk.Kind.UPDATES)
    PerkTier.objects.create(perk=emoji, tier=tier, emoji_allowance=2)
    PerkTier.objects.create(perk=updates, tier=tier)
    return tier


def _states(patronage) -> dict[str, str]:
    return {
        e.perk.kind: e.state for e in Entitlement.objects.filter(patronage=patronage).select_related("perk")
    }


def _subscription_event(subscription_id, customer, status, created, tier, **kwargs):
    return s.event(
        "customer.subscription.updated" if status != "canceled" else "customer.subscription.deleted",
        s.subscription(
            subscription_id=subscription_id,
            customer=customer,
            status=status,
            metadata={"tier": tier.slug, "kind": "perk", "interval": "month"},
            amount=Decimal("5.00"),
            lookup_key=tier.price_lookup_key("month"),
            **kwargs,
        ),
        created=created,
    )


@pytest.mark.django_db
def test_patron_walks_through_the_life_of_a_subscription(client, fake_stripe, perk_tier, settings, make_user):
    settings.PATRON_GRACE_DAYS = 14
    sub_id, customer = s.new_id("sub"), s.new_id("cus")
    metadata = {"tier": perk_tier.slug, "kind": "perk", "interval": "month"}
    now = s.now_ts()

    # 1. The first payment succeeds: perks granted.
    settlement = fake_stripe.add_charge(amount_eur=Decimal("5.00"), fee_eur=Decimal("0.33"))
    inv = s.invoice(subscription_id=sub_id, customer=customer, amount=Decimal("5.00"), metadata=metadata)
    fake_stripe.add_invoice(inv, settlement=settlement)
    s.post_event(client, s.event("invoice.paid", inv, created=now - 100))
    s.post_event(client, _subscription_event(sub_id, customer, "active", now - 99, perk_tier))
    from fundraising.models import Patronage

    patronage = Patronage.objects.get(stripe_subscription_id=sub_id)
    user = make_user()
    patronage.patron.user = user
    patronage.patron.save()
    assert _states(patronage) == {"emoji": "active", "updates": "active"}
    assert has_perk(user=user, kind="updates")
    assert emoji_allowance(patron=patronage.patron) == 2
    emoji = Emoji.objects.create(
        patron=patronage.patron,
        shortcode="walker",
        image="emoji/walker.png",
        image_format="png",
        status="approved",
    )

    def in_pack(on_end):
        return emoji in emoji_pack_queryset(on_end=on_end)

    assert in_pack("omit") and in_pack("keep")

    # 2. A renewal fails: perks kept through the grace period.
    failed = s.invoice(
        subscription_id=sub_id, customer=customer, amount=Decimal("5.00"), metadata=metadata, status="open"
    )
    s.post_event(client, s.event("invoice.payment_failed", failed, created=now - 50))
    s.post_event(client, _subscription_event(sub_id, customer, "past_due", now - 49, perk_tier))
    assert _states(patronage) == {"emoji": "active", "updates": "active"}

    # 3. The grace period ends without a payment: the periodic task suspends the perks.
    later = timezone.now() + datetime.timedelta(days=15)
    assert entitlements_sync_all(now=later) == 2
    assert entitlements_sync_all(now=later) == 0  # running it again changes nothing
    assert _states(patronage) == {"emoji": "suspended", "updates": "suspended"}
    assert not has_perk(user=user, kind="updates")  # patron-only updates locked
    assert not in_pack("omit") and in_pack("keep")  # left out of the next pack only if so set

    # 4. The patron pays again: perks back.
    settlement = fake_stripe.add_charge(amount_eur=Decimal("5.00"), fee_eur=Decimal("0.33"))
    retry = s.invoice(subscription_id=sub_id, customer=customer, amount=Decimal("5.00"), metadata=metadata)
    fake_stripe.add_invoice(retry, settlement=settlement)
    s.post_event(client, s.event("invoice.paid", retry, created=now - 10))
    s.post_event(client, _subscription_event(sub_id, customer, "active", now - 9, perk_tier))
    assert _states(patronage) == {"emoji": "active", "updates": "active"}
    assert in_pack("omit") and has_perk(user=user, kind="updates")

    # 5. Cancelled at period end: perks stay until Stripe ends the subscription, then end.
    s.post_event(
        client, _subscription_event(sub_id, customer, "active", now - 5, perk_tier, cancel_at_period_end=True)
    )
    assert _states(patronage) == {"emoji": "active", "updates": "active"}
    s.post_event(client, _subscription_event(sub_id, customer, "canceled", now, perk_tier))
    assert _states(patronage) == {"emoji": "ended", "updates": "ended"}
    assert not in_pack("omit") and not has_perk(user=user, kind="updates")

    trail = list(
        EntitlementChange.objects.filter(entitlement__perk__kind="emoji", entitlement__patronage=patronage)
        .order_by("pk")
        .values_list("from_state", "to_state", "source")
    )
    assert trail == [
        ("", "active", "webhook"),
        ("active", "suspended", "periodic task"),
        ("suspended", "active", "webhook"),
        ("active", "ended", "webhook"),
    ]


@pytest.mark.django_db
def test_periodic_task_and_webhook_reach_the_same_state_in_either_order(perk_tier):
    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="active")
    first = entitlements_sync(patronage=patronage, source="periodic task")
    second = entitlements_sync(patronage=patronage, source="webhook")
    assert len(first) == 2 and second == []
    assert Entitlement.objects.filter(patronage=patronage, state="active").count() == 2


@pytest.mark.django_db
def test_no_perks_donation_gets_no_entitlement(perk_tier):
    patronage = PatronageFactory(tier=perk_tier, kind="donation", status="active")
    assert entitlements_sync(patronage=patronage, source="test") == []
    assert not Entitlement.objects.exists()


@pytest.mark.django_db
def test_incomplete_subscription_grants_nothing_yet(perk_tier):
    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="incomplete")
    assert entitlements_sync(patronage=patronage, source="test") == []


@pytest.mark.django_db
def test_perk_removed_from_the_tier_ends_the_entitlement(perk_tier):
    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    PerkTier.objects.filter(perk__kind="updates").delete()
    entitlements_sync(patronage=patronage, source="staff")
    assert _states(patronage) == {"emoji": "active", "updates": "ended"}
    assert EntitlementChange.objects.filter(to_state="ended", reason="perk not on the tier").exists()


@pytest.mark.django_db
def test_tier_change_updates_the_emoji_allowance(perk_tier):
    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    PerkTier.objects.filter(perk__kind="emoji").update(emoji_allowance=5)
    entitlements_sync(patronage=patronage, source="test")
    assert emoji_allowance(patron=patronage.patron) == 5


@pytest.mark.django_db
def test_erasing_a_patron_removes_their_emoji_and_feed_link(perk_tier, settings, tmp_path):
    from django.core.files.base import ContentFile
    from django.test import TestCase

    from fundraising.privacy import patron_erase
    from perks.models import FeedToken

    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="canceled")
    emoji = Emoji(patron=patronage.patron, shortcode="gone", image_format="png", status="approved")
    emoji.image.save("gone.png", ContentFile(b"\x89PNG fake"), save=True)
    path = emoji.image.path
    FeedToken.objects.create(patron=patronage.patron)
    with TestCase.captureOnCommitCallbacks(execute=True):
        patron_erase(patron=patronage.patron)
    emoji.refresh_from_db()
    assert emoji.status == "withdrawn" and not emoji.image
    assert not FeedToken.objects.exists()
    import os

    assert not os.path.exists(path)


@pytest.mark.django_db
def test_data_export_includes_perks_with_their_history_and_emoji(perk_tier):
    from fundraising.privacy import patron_export

    patronage = PatronageFactory(tier=perk_tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    Emoji.objects.create(
        patron=patronage.patron, shortcode="mine", image="emoji/mine.png", image_format="png"
    )
    data = patron_export(patron=patronage.patron)
    assert {e["perk"] for e in data["perks"]["entitlements"]} == {"Custom emoji", "Updates"}
    assert data["perks"]["entitlements"][0]["history"][0]["to"] == "active"
    assert data["perks"]["emoji"] == [
        {"shortcode": "mine", "status": "pending", "uploaded": data["perks"]["emoji"][0]["uploaded"]}
    ]
    assert data["profile"]["pseudonymous_id"] == str(patronage.patron.pseudonym)


@pytest.mark.django_db
def test_my_support_lists_perks_without_a_query_per_perk(client, make_user, perk_tier):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fundraising.models import Patron

    user = make_user()
    patron = Patron.objects.create(user=user, email=user.email)
    client.force_login(user)

    def perk_queries_for_my_support() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/support/mine/")
        assert page.status_code == 200
        return sum('FROM "perks_' in query["sql"] for query in captured.captured_queries)

    patronage = PatronageFactory(patron=patron, tier=perk_tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    with_two = perk_queries_for_my_support()
    for number in range(3):
        extra = Perk.objects.create(name=f"Extra {number}", kind=Perk.Kind.MANUAL)
        PerkTier.objects.create(perk=extra, tier=perk_tier)
    entitlements_sync(patronage=patronage, source="test")
    assert Entitlement.objects.filter(patron=patron).count() == 5
    assert perk_queries_for_my_support() == with_two == 1
    assert "Extra 2" in client.get("/support/mine/").content.decode()
