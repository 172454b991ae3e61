"""Finance sees entitlements with their history and ticks off the checklist of manual perks."""

from decimal import Decimal

import pytest

from perks.models import Entitlement, Perk, PerkTier
from perks.services import entitlements_sync
from tests.factories.fundraising import PatronageFactory, TierFactory


@pytest.fixture
def manual_entitlement(db):
    tier = TierFactory(slug="shirt-tier", monthly_amount=Decimal("25.00"))
    perk = Perk.objects.create(
        name="T-shirt", kind=Perk.Kind.MANUAL, checklist="Ask for the size\nShip the parcel"
    )
    PerkTier.objects.create(perk=perk, tier=tier)
    patronage = PatronageFactory(tier=tier, kind="perk", status="active")
    entitlements_sync(patronage=patronage, source="test")
    return Entitlement.objects.get()


@pytest.mark.django_db
def test_finance_sees_the_history_and_fulfils_the_checklist(finance_client, manual_entitlement):
    url = f"/admin/perks/entitlements/inspect/{manual_entitlement.pk}/"
    page = finance_client.get(url).content.decode()
    assert "Ask for the size" in page and "support is active" in page
    finance_client.post(f"/admin/perks/entitlements/fulfil/{manual_entitlement.pk}/", {"step": ["0"]})
    manual_entitlement.refresh_from_db()
    assert manual_entitlement.checklist_done == [0] and manual_entitlement.fulfilled_at is None
    finance_client.post(
        f"/admin/perks/entitlements/fulfil/{manual_entitlement.pk}/", {"step": ["0", "1", "7"]}
    )
    manual_entitlement.refresh_from_db()
    assert manual_entitlement.checklist_done == [0, 1] and manual_entitlement.fulfilled_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("roles", "mfa"), [((), False), (("patron",), True), (("editor",), True), (("finance",), False)]
)
def test_others_get_no_entitlement_page(client, make_user, manual_entitlement, roles, mfa):
    if roles or mfa:
        client.force_login(make_user(*roles, mfa=mfa))
    for url in ("/admin/perks/entitlements/", f"/admin/perks/entitlements/inspect/{manual_entitlement.pk}/"):
        assert client.get(url).status_code in (302, 403), url
    client.post(f"/admin/perks/entitlements/fulfil/{manual_entitlement.pk}/", {"step": ["0", "1"]})
    manual_entitlement.refresh_from_db()
    assert manual_entitlement.checklist_done == []
