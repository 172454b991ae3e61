"""Grant payments, pay split by allocation, reclassification and bills: balanced postings, posted once."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from grants import services
from grants.models import InvalidTransition, Milestone
from ledger.models import Posting, Transaction
from tests.factories.grants import (
    BillFactory,
    GrantFactory,
    MilestoneFactory,
    PayRecordFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db
MARCH = datetime.date(2026, 3, 1)


def on_centre(code: str, *, accounts=None) -> Decimal:
    postings = Posting.objects.filter(cost_centre__code=code)
    if accounts:
        postings = postings.filter(account__code__in=accounts)
    return postings.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def balance(code: str) -> Decimal:
    return Posting.objects.filter(account__code=code).aggregate(total=Sum("amount"))["total"] or Decimal(
        "0.00"
    )


def test_every_transaction_balances():
    grant = GrantFactory()
    record = PayRecordFactory()
    services.allocations_set(person=record.person, month=MARCH, shares={grant: Decimal("33.33")})
    services.pay_record_post(pay_record=record)
    services.grant_payment_record(
        grant=grant, amount=Decimal("10000.00"), received_on=MARCH, reference="NLnet 1"
    )
    for txn in Transaction.objects.all():
        assert sum(p.amount for p in txn.postings.all()) == Decimal("0.00")


def test_pay_is_split_by_the_allocation_to_the_cent():
    grant_a, grant_b = GrantFactory(code="A"), GrantFactory(code="B")
    record = PayRecordFactory(gross_salary=Decimal("4999.99"), employer_social_costs=Decimal("1049.99"))
    services.allocations_set(
        person=record.person, month=MARCH, shares={grant_a: Decimal("33.33"), grant_b: Decimal("50")}
    )
    services.pay_record_post(pay_record=record)
    # Independent arithmetic: each line rounded half up per grant, the rest to core.
    a = Decimal("1666.50") + Decimal(
        "349.96"
    )  # 4999.99 × 33.33 % = 1666.4966…, 1049.99 × 33.33 % = 349.9617…
    b = Decimal("2500.00") + Decimal("525.00")  # 2499.995 → 2500.00, 524.995 → 525.00
    assert on_centre("A") == a
    assert on_centre("B") == b
    assert (
        on_centre("CORE", accounts=["expense-salaries", "expense-social-costs"]) == Decimal("6049.98") - a - b
    )
    assert balance("bank") == Decimal("-6049.98")


def test_a_month_above_100_percent_is_refused_and_changes_nothing():
    grant_a, grant_b = GrantFactory(code="A"), GrantFactory(code="B")
    person = PersonFactory()
    services.allocations_set(person=person, month=MARCH, shares={grant_a: Decimal("60")})
    with pytest.raises(ValidationError, match="at most 100"):
        services.allocations_set(
            person=person, month=MARCH, shares={grant_a: Decimal("60"), grant_b: Decimal("41")}
        )
    assert list(person.allocations.values_list("grant__code", "percent")) == [("A", Decimal("60.00"))]


def test_posting_a_pay_record_twice_posts_once():
    record = PayRecordFactory()
    services.pay_record_post(pay_record=record)
    services.pay_record_post(pay_record=record)
    assert balance("bank") == Decimal("-6050.00")


def test_a_changed_allocation_is_booked_as_a_reclassification_not_an_edit():
    grant = GrantFactory(code="A")
    record = PayRecordFactory()
    services.allocations_set(person=record.person, month=MARCH, shares={grant: Decimal("50")})
    services.pay_record_post(pay_record=record)
    first = Transaction.objects.get(idempotency_key=f"grants:pay:{record.pk}")
    first_postings = list(first.postings.values_list("amount", flat=True))
    services.allocations_set(person=record.person, month=MARCH, shares={grant: Decimal("80")})
    assert on_centre("A") == Decimal("4840.00")  # 80 % of 6,050.00
    assert on_centre("CORE", accounts=["expense-salaries", "expense-social-costs"]) == Decimal("1210.00")
    assert list(first.postings.values_list("amount", flat=True)) == first_postings
    assert Transaction.objects.filter(idempotency_key=f"grants:pay:{record.pk}:v2").exists()
    services.allocations_set(person=record.person, month=MARCH, shares={grant: Decimal("80")})
    assert Transaction.objects.count() == 2  # nothing changed: nothing booked


def test_a_grant_payment_is_grant_income_on_its_cost_centre_and_pays_the_milestone():
    milestone = MilestoneFactory(amount=Decimal("12000.00"))
    grant = milestone.grant
    services.grant_payment_record(
        grant=grant, amount=Decimal("12000.00"), received_on=MARCH, reference="NLnet M1", milestone=milestone
    )
    assert on_centre(grant.code, accounts=["income-grants"]) == Decimal("-12000.00")
    assert balance("bank") == Decimal("12000.00")
    milestone.refresh_from_db()
    assert milestone.state == Milestone.State.PAID
    with pytest.raises(InvalidTransition):
        services.grant_payment_record(
            grant=grant, amount=Decimal("12000.00"), received_on=MARCH, reference="again", milestone=milestone
        )
    assert balance("bank") == Decimal("12000.00")


def test_a_request_for_payment_gets_one_number_and_submits_the_milestone():
    milestone = MilestoneFactory()
    services.milestone_request_issue(milestone=milestone, on=MARCH)
    services.milestone_request_issue(milestone=milestone, on=MARCH)
    milestone.refresh_from_db()
    assert milestone.request_number == "ZA-2026-00001"
    assert milestone.state == Milestone.State.SUBMITTED


def test_a_bill_books_its_cost_on_its_centre_and_its_payment_once():
    bill = BillFactory(vat_amount=Decimal("159.60"))
    services.bill_post(bill=bill)
    services.bill_post(bill=bill)
    assert balance("expense-hosting") == Decimal("999.60")
    assert balance("payables") == Decimal("-999.60")
    services.bill_mark_paid(bill=bill, paid_on=datetime.date(2026, 3, 20), reference="SEPA out 1")
    with pytest.raises(InvalidTransition):
        services.bill_mark_paid(bill=bill, paid_on=datetime.date(2026, 3, 20), reference="SEPA out 1")
    assert balance("payables") == Decimal("0.00")
    assert balance("bank") == Decimal("-999.60")


def test_flat_rate_indirect_costs_leave_subcontracting_out_of_the_base():
    from grants.models import indirect_costs

    direct = {
        "personnel": Decimal("10000.00"),
        "travel": Decimal("1000.00"),
        "subcontracting": Decimal("5000.00"),
    }
    assert indirect_costs(direct=direct, rate=Decimal("25")) == Decimal("2750.00")
