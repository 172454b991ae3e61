"""Starting a checkout: the pages, the server-side rules, the card-testing defences, friendly failures."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from fundraising import services
from fundraising.models import CheckoutAttempt, Patronage
from payments.errors import PaymentServiceUnavailable
from payments.types import CheckoutSession
from tests.factories.fundraising import PatronageFactory, TierFactory


class FakeCheckoutGateway:
    name = "fake"

    def __init__(self, fail_with=None):
        self.requests = []
        self.synced = []
        self.fail_with = fail_with

    def products_sync(self, *, products):
        self.synced.extend(products)

    def checkout_create(self, *, request):
        if self.fail_with:
            raise self.fail_with
        self.requests.append(request)
        return CheckoutSession(
            id=f"cs_test_{len(self.requests)}", url=f"https://checkout.example/{len(self.requests)}"
        )


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeCheckoutGateway()
    monkeypatch.setattr("fundraising.services.gateway", lambda: fake)
    return fake


@pytest.fixture
def tier(db):
    return TierFactory(
        slug="supporter", name="Supporter", monthly_amount=Decimal("5.00"), yearly_amount=Decimal("50.00")
    )


@pytest.mark.django_db
def test_tier_checkout_redirects_to_stripe_with_the_tier_price(client, gateway, tier):
    response = client.post("/support/checkout/supporter/", {"interval": "year"})
    assert response.status_code == 303
    assert response["Location"] == "https://checkout.example/1"
    request = gateway.requests[0]
    assert request.mode == "subscription" and request.interval == "year"
    assert request.price_lookup_key == "tier-supporter-year-eur-5000"
    assert request.amount == Decimal("50.00")
    assert request.metadata["kind"] == "perk"
    assert not request.collect_address
    attempt = CheckoutAttempt.objects.get()
    assert request.idempotency_key == f"checkout:{attempt.pk}"  # saved before the call
    assert attempt.stripe_session_id == "cs_test_1"
    assert gateway.synced[0].prices[0].lookup_key == "tier-supporter-month-eur-500"


@pytest.mark.django_db
def test_no_perks_makes_the_same_amount_a_donation_with_address_collection(client, gateway, tier):
    client.post("/support/checkout/supporter/", {"interval": "month", "no_perks": "on"})
    request = gateway.requests[0]
    assert request.metadata["kind"] == "donation"
    assert request.collect_address


@pytest.mark.django_db
def test_own_amount_one_time_gift_uses_payment_mode_and_inline_price(client, gateway):
    response = client.post(
        "/support/checkout/own-amount/", {"amount": "12.50", "currency": "eur", "interval": "once"}
    )
    assert response.status_code == 303
    request = gateway.requests[0]
    assert request.mode == "payment" and request.price_lookup_key == ""
    assert request.amount == Decimal("12.50") and request.collect_address


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [("1.99", "The smallest amount is"), ("10000.01", "The largest amount"), ("abc", "Enter an amount like")],
)
def test_own_amount_outside_the_limits_is_refused_with_a_message(client, gateway, amount, message):
    response = client.post(
        "/support/checkout/own-amount/", {"amount": amount, "currency": "eur", "interval": "month"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert gateway.requests == [] and CheckoutAttempt.objects.count() == 0


@pytest.mark.django_db
def test_server_side_minimum_holds_whatever_the_form_sends(gateway):
    choice = services.CheckoutChoice(tier=None, interval="month", amount=Decimal("0.50"), currency="eur")
    with pytest.raises(services.CheckoutRefused):
        services.checkout_start(
            choice=choice,
            user=None,
            language="en",
            client_ip="1.2.3.4",
            session_key="",
            success_url="x",
            cancel_url="y",
        )
    assert gateway.requests == []


@pytest.mark.django_db
def test_a_tier_cannot_be_bought_at_another_amount(gateway, tier):
    choice = services.CheckoutChoice(tier=tier, interval="month", amount=Decimal("1.00"), currency="eur")
    with pytest.raises(services.CheckoutRefused):
        services.checkout_choice_check(choice=choice)


@pytest.mark.django_db
def test_full_tier_refuses_new_patrons(client, gateway):
    full = TierFactory(slug="sponsor-slot", slot_limit=1)
    PatronageFactory(tier=full, status=Patronage.Status.ACTIVE)
    response = client.post("/support/checkout/sponsor-slot/", {"interval": "month"})
    assert "All places in this tier are taken" in response.content.decode()
    assert gateway.requests == []


@pytest.mark.django_db
def test_draft_and_inactive_tiers_have_no_checkout(client, gateway):
    TierFactory(slug="draft", live=False)
    TierFactory(slug="retired", active=False)
    assert client.get("/support/checkout/draft/").status_code == 404
    assert client.get("/support/checkout/retired/").status_code == 404


@pytest.mark.django_db
def test_sixth_checkout_from_one_ip_in_an_hour_gets_a_generic_refusal(client, gateway, tier, settings):
    settings.CHECKOUT_LIMIT_PER_IP = 5
    settings.CHECKOUT_LIMIT_PER_SESSION = 100
    for _ in range(5):
        assert (
            client.post(
                "/support/checkout/supporter/", {"interval": "month"}, REMOTE_ADDR="203.0.113.9"
            ).status_code
            == 303
        )
    other = client.post("/support/checkout/supporter/", {"interval": "month"}, REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 303  # another visitor is not affected
    response = client.post("/support/checkout/supporter/", {"interval": "month"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert "We could not start the payment" in response.content.decode()
    assert len(gateway.requests) == 6


@pytest.mark.django_db
def test_session_limit_holds_across_ips(client, gateway, tier, settings):
    settings.CHECKOUT_LIMIT_PER_IP = 100
    settings.CHECKOUT_LIMIT_PER_SESSION = 2
    for number in range(2):
        client.post("/support/checkout/supporter/", {"interval": "month"}, REMOTE_ADDR=f"203.0.113.{number}")
    response = client.post("/support/checkout/supporter/", {"interval": "month"}, REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 429
    assert "We could not start the payment" in response.content.decode()


@pytest.mark.django_db
def test_stripe_down_shows_a_friendly_message_not_a_500(client, monkeypatch, tier):
    fake = FakeCheckoutGateway(fail_with=PaymentServiceUnavailable("503 after 4 tries"))
    monkeypatch.setattr("fundraising.services.gateway", lambda: fake)
    response = client.post("/support/checkout/supporter/", {"interval": "month"})
    assert response.status_code == 200
    assert "could not take your request just now" in response.content.decode()
    assert CheckoutAttempt.objects.get().status == CheckoutAttempt.Status.ERROR


@pytest.mark.django_db
def test_checkout_pages_are_never_cached_and_carry_csrf(client, gateway, tier):
    response = client.get("/support/checkout/supporter/")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert "csrfmiddlewaretoken" in response.content.decode()


@pytest.mark.django_db
def test_checkout_page_in_german(client, gateway, tier):
    response = client.get("/de/support/checkout/supporter/")
    assert response.status_code == 200
    assert 'lang="de"' in response.content.decode()


@pytest.mark.django_db
def test_failure_share_alert_goes_to_finance_once(settings):
    settings.FINANCE_ALERT_EMAIL = "finance@example.org"
    for number in range(12):
        CheckoutAttempt.objects.create(
            kind="donation",
            amount=Decimal("5"),
            interval="month",
            client_ip_hash=str(number),
            status=CheckoutAttempt.Status.FAILED if number < 6 else CheckoutAttempt.Status.COMPLETED,
        )
    from django.core.cache import cache

    cache.clear()
    assert services.checkout_failure_share_check() == 0.5
    services.checkout_failure_share_check()
    assert len(mail.outbox) == 1
    assert "6 of the last hour's 12 checkouts failed" in mail.outbox[0].body


@pytest.mark.django_db
def test_perks_are_suspended_after_the_grace_period_only(settings):
    settings.PATRON_GRACE_DAYS = 14
    now = timezone.now()
    within = PatronageFactory(
        status=Patronage.Status.PAST_DUE, payment_failed_at=now - datetime.timedelta(days=13)
    )
    over = PatronageFactory(
        status=Patronage.Status.PAST_DUE, payment_failed_at=now - datetime.timedelta(days=15)
    )
    assert within.perks_active(now=now) and not over.perks_active(now=now)
    assert services.perks_suspend_overdue(now=now) == 1
    assert services.perks_suspend_overdue(now=now) == 0
    over.refresh_from_db()
    within.refresh_from_db()
    assert over.perks_suspended_at is not None and within.perks_suspended_at is None
