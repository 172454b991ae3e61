"""The ledger's staff screens in the Wagtail admin."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger.models import Account, CostCentre, TaxSphere, Transaction
from tests.factories.ledger import AccountFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, make_user):
    user = make_user(is_superuser=True, is_staff=True, mfa=True)
    client.force_login(user)
    return client


def account_form_data(account, **changes):
    data = {
        "code": account.code,
        "name": account.name,
        "kind": account.kind,
        "category": account.category,
        "tax_sphere": account.tax_sphere or "",
        "datev_number": account.datev_number,
        "vat_rate": account.vat_rate or "",
        "active": "on" if account.active else "",
    }
    if account.datev_automatic:
        data["datev_automatic"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_finance_staff_see_transactions_with_their_amount(finance_client):
    TransactionFactory(
        description="Grant milestone 1 paid", amount=Decimal("40000.00"), credit_account="income-grants"
    )

    response = finance_client.get(reverse("ledger_transaction:index"))

    assert response.status_code == 200
    assert "Grant milestone 1 paid" in response.content.decode()
    assert "40,000.00" in response.content.decode()


def test_transaction_list_filters_by_account_and_date(finance_client):
    TransactionFactory(
        description="Hosting March",
        debit_account="expense-hosting",
        credit_account="bank",
        booking_date=datetime.date(2025, 3, 5),
    )
    TransactionFactory(description="Donation March", booking_date=datetime.date(2025, 3, 6))
    TransactionFactory(
        description="Hosting May",
        debit_account="expense-hosting",
        credit_account="bank",
        booking_date=datetime.date(2025, 5, 5),
    )
    hosting = Account.objects.get(code="expense-hosting")

    response = finance_client.get(
        reverse("ledger_transaction:index"),
        {"account": hosting.pk, "booking_date_from": "2025-03-01", "booking_date_to": "2025-03-31"},
    )

    content = response.content.decode()
    assert "Hosting March" in content
    assert "Donation March" not in content
    assert "Hosting May" not in content


def test_transaction_inspect_view_lists_the_postings(finance_client):
    txn = TransactionFactory(description="Sponsor paid", amount=Decimal("119.00"), debit_account="stripe")

    response = finance_client.get(reverse("ledger_transaction:inspect", args=[txn.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Sponsor paid" in content
    assert "stripe – Stripe balance" in content
    assert "119.00" in content


@pytest.mark.parametrize("view_name", ["edit", "delete"])
def test_nobody_edits_or_deletes_a_transaction_in_the_admin_not_even_a_superuser(superuser_client, view_name):
    txn = TransactionFactory(description="Untouchable")

    response = superuser_client.post(
        reverse(f"ledger_transaction:{view_name}", args=[txn.pk]), {"description": "x"}
    )

    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")  # Wagtail's answer to a permission denied
    assert Transaction.objects.get(pk=txn.pk).description == "Untouchable"


def test_nobody_adds_a_transaction_in_the_admin(superuser_client):
    response = superuser_client.get(reverse("ledger_transaction:add"))

    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def test_transaction_list_offers_no_add_button(superuser_client):
    response = superuser_client.get(reverse("ledger_transaction:index"))

    assert reverse("ledger_transaction:add") not in response.content.decode()


def test_user_without_ledger_permissions_cannot_see_transactions(client, make_user):
    user = make_user("editor", mfa=True)
    client.force_login(user)

    response = client.get(reverse("ledger_transaction:index"))

    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def test_user_with_only_the_view_permission_sees_transactions(client, make_user):
    user = make_user(mfa=True)
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="view_transaction")
    )
    client.force_login(user)

    response = client.get(reverse("ledger_transaction:index"))

    assert response.status_code == 200


def test_finance_staff_rename_a_posted_account_and_change_its_datev_number(finance_client):
    TransactionFactory(credit_account="income-donations")
    account = Account.objects.get(code="income-donations")

    response = finance_client.post(
        reverse("ledger_account:edit", args=[account.pk]),
        account_form_data(account, name="Spenden (ideeller Bereich)", datev_number="8015"),
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.datev_number) == ("Spenden (ideeller Bereich)", "8015")


def test_kind_and_sphere_of_a_posted_account_cannot_be_changed_in_the_admin(finance_client):
    TransactionFactory(credit_account="income-donations")
    account = Account.objects.get(code="income-donations")

    finance_client.post(
        reverse("ledger_account:edit", args=[account.pk]),
        account_form_data(
            account, kind="expense", category="other_spending", tax_sphere=TaxSphere.TAXABLE_BUSINESS
        ),
    )

    account.refresh_from_db()
    assert (account.kind, account.category, account.tax_sphere) == (
        "income",
        "donations",
        TaxSphere.NON_PROFIT_CORE,
    )


def test_sphere_of_an_account_without_postings_can_be_changed_in_the_admin(finance_client):
    account = AccountFactory(code="income-new-channel")

    response = finance_client.post(
        reverse("ledger_account:edit", args=[account.pk]),
        account_form_data(account, tax_sphere=TaxSphere.TAXABLE_BUSINESS),
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.tax_sphere == TaxSphere.TAXABLE_BUSINESS


def test_account_form_refuses_a_category_of_another_kind(superuser_client):
    response = superuser_client.post(
        reverse("ledger_account:add"),
        {
            "code": "odd",
            "name": "Odd",
            "kind": "expense",
            "category": "donations",
            "tax_sphere": 1,
            "datev_number": "4999",
        },
    )

    assert response.status_code == 200
    assert not Account.objects.filter(code="odd").exists()


def test_finance_staff_create_a_grant_cost_centre(finance_client):
    response = finance_client.post(
        reverse("ledger_costcentre:add"),
        {"code": "NLNET-2026", "name": "NLnet grant 2026", "kind": "grant", "active": "on"},
    )

    assert response.status_code == 302
    assert CostCentre.objects.filter(code="NLNET-2026", kind="grant").exists()


def test_the_core_cost_centre_cannot_be_switched_off(finance_client):
    core = CostCentre.objects.get(code="CORE")

    finance_client.post(
        reverse("ledger_costcentre:edit", args=[core.pk]), {"code": "CORE", "name": core.name, "kind": "core"}
    )

    core.refresh_from_db()
    assert core.active


def test_posting_list_and_closing_balances_open_for_finance_staff(finance_client):
    TransactionFactory()

    assert finance_client.get(reverse("ledger_posting:index")).status_code == 200
    assert finance_client.get(reverse("ledger_closingbalance:index")).status_code == 200
    assert finance_client.get(reverse("ledger_account:index")).status_code == 200
    assert finance_client.get(reverse("ledger_costcentre:index")).status_code == 200


def test_transactions_export_as_csv(finance_client):
    TransactionFactory(description="Exported donation", amount=Decimal("42.00"))

    response = finance_client.get(reverse("ledger_transaction:index"), {"export": "csv"})

    content = (
        b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    )
    assert "Exported donation" in content
    assert ",42.00," in content


def test_inspect_pages_of_postings_accounts_and_cost_centres_open_for_finance_staff(finance_client):
    posting = TransactionFactory().postings.first()
    account = Account.objects.get(code="bank")
    core = CostCentre.objects.get(code="CORE")

    for url in [
        reverse("ledger_posting:inspect", args=[posting.pk]),
        reverse("ledger_account:inspect", args=[account.pk]),
        reverse("ledger_costcentre:inspect", args=[core.pk]),
    ]:
        assert finance_client.get(url).status_code == 200, url


def test_posting_list_filters_by_tax_sphere(finance_client):
    TransactionFactory(
        description="Perk tier", credit_account="income-patrons-perks", amount=Decimal("11.00")
    )
    TransactionFactory(description="Plain gift", credit_account="income-donations", amount=Decimal("22.00"))

    response = finance_client.get(
        reverse("ledger_posting:index"), {"account__tax_sphere": TaxSphere.TAXABLE_BUSINESS}
    )

    content = response.content.decode()
    assert "-11.00" in content
    assert "22.00" not in content


def test_closing_balances_list_shows_the_stored_month_end_figures(finance_client):
    from ledger.services import ledger_month_close

    TransactionFactory(booking_date=datetime.date(2025, 1, 10), amount=Decimal("1234.50"))
    ledger_month_close(month=datetime.date(2025, 1, 1))

    response = finance_client.get(reverse("ledger_closingbalance:index"))

    assert "1,234.50" in response.content.decode()
