import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from ledger.errors import ImmutableRecord
from ledger.models import Account, CostCentre, Posting, TaxSphere, Transaction
from tests.factories.ledger import AccountFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def test_default_chart_has_the_skr03_numbers_from_the_domain_notes():
    numbers = dict(Account.objects.values_list("code", "datev_number"))

    assert numbers["bank"] == "1200"
    assert numbers["expense-salaries"] == "4120"
    assert numbers["expense-social-costs"] == "4130"
    assert numbers["expense-payment-fees"] == "4970"
    assert numbers["income-sponsorship-vat"] == "8400"
    assert numbers["income-sponsorship-reverse-charge"] == "8336"


def test_default_chart_puts_each_income_account_in_its_tax_sphere():
    spheres = dict(Account.objects.income().values_list("code", "tax_sphere"))

    assert spheres["income-donations"] == TaxSphere.NON_PROFIT_CORE
    assert spheres["income-grants"] == TaxSphere.NON_PROFIT_CORE
    assert spheres["income-sponsorship-passive"] == TaxSphere.NON_PROFIT_CORE
    assert spheres["income-patrons-perks"] == TaxSphere.TAXABLE_BUSINESS
    assert spheres["income-sponsorship-vat"] == TaxSphere.TAXABLE_BUSINESS
    assert spheres["income-services"] == TaxSphere.TAXABLE_BUSINESS
    assert spheres["income-merchandise"] == TaxSphere.TAXABLE_BUSINESS
    assert spheres["income-interest"] == TaxSphere.ASSET_MANAGEMENT


def test_data_migration_creates_the_core_cost_centre():
    core = CostCentre.objects.get(code="CORE")

    assert core.kind == CostCentre.Kind.CORE
    assert core.active


def test_saving_an_existing_transaction_is_refused():
    txn = TransactionFactory()
    txn.description = "edited"

    with pytest.raises(ImmutableRecord):
        txn.save()

    assert Transaction.objects.get(pk=txn.pk).description != "edited"


def test_deleting_a_transaction_is_refused():
    txn = TransactionFactory()

    with pytest.raises(ImmutableRecord):
        txn.delete()

    assert Transaction.objects.filter(pk=txn.pk).exists()


def test_saving_an_existing_posting_is_refused():
    posting = TransactionFactory().postings.first()
    posting.amount = Decimal("1.00")

    with pytest.raises(ImmutableRecord):
        posting.save()


def test_deleting_a_posting_is_refused():
    posting = TransactionFactory().postings.first()

    with pytest.raises(ImmutableRecord):
        posting.delete()

    assert Posting.objects.filter(pk=posting.pk).exists()


def test_bulk_update_and_delete_of_postings_are_refused():
    TransactionFactory()

    with pytest.raises(ImmutableRecord):
        Posting.objects.all().update(amount=Decimal("1.00"))
    with pytest.raises(ImmutableRecord):
        Posting.objects.all().delete()
    with pytest.raises(ImmutableRecord):
        Transaction.objects.all().delete()

    assert Posting.objects.count() == 2


def test_kind_and_sphere_of_an_account_with_postings_cannot_change():
    account = AccountFactory(code="income-fixed")
    TransactionFactory(credit_account="income-fixed")
    account.kind = Account.Kind.EXPENSE
    account.category = Account.Category.OTHER_SPENDING
    account.tax_sphere = TaxSphere.TAXABLE_BUSINESS

    with pytest.raises(ValidationError) as error:
        account.full_clean()

    assert set(error.value.message_dict) == {"kind", "category", "tax_sphere"}
    with pytest.raises(ImmutableRecord):
        account.save()


def test_name_datev_number_and_active_flag_of_a_posted_account_stay_editable():
    TransactionFactory(credit_account="income-donations")
    account = Account.objects.get(code="income-donations")
    account.name = "Spenden"
    account.datev_number = "8012"
    account.active = False

    account.full_clean()
    account.save()

    assert Account.objects.filter(
        code="income-donations", name="Spenden", datev_number="8012", active=False
    ).exists()


def test_kind_of_an_account_without_postings_may_change():
    account = AccountFactory(code="income-unused")
    account.kind = Account.Kind.EXPENSE
    account.category = Account.Category.HOSTING

    account.full_clean()
    account.save()

    assert Account.objects.get(code="income-unused").kind == Account.Kind.EXPENSE


def test_income_account_without_sphere_is_invalid():
    account = Account(code="income-nowhere", name="Nowhere", kind="income", category="donations")

    with pytest.raises(ValidationError, match="tax sphere"):
        account.full_clean()


def test_category_must_fit_the_kind():
    account = Account(code="odd", name="Odd", kind="expense", category="donations", tax_sphere=1)

    with pytest.raises(ValidationError, match="report category"):
        account.full_clean()


def test_income_is_reported_as_a_positive_figure():
    assert Account.Kind.INCOME.reported(Decimal("-120.00")) == Decimal("120.00")
    assert Account.Kind.EXPENSE.reported(Decimal("80.00")) == Decimal("80.00")
    assert Account.Kind.LIABILITY.reported(Decimal("-19.00")) == Decimal("19.00")


def test_transaction_str_names_date_and_description():
    txn = TransactionFactory(booking_date=datetime.date(2025, 3, 14), description="Donation by bank transfer")

    assert str(txn) == "2025-03-14 Donation by bank transfer"
