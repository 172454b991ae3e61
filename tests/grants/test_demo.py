"""The grants' demo data: funders, grants of every funding model, six people with 24 months of pay split by
allocation, bills with vouchers, all booked through the real services (the books balance), once however
often it runs, and quickly."""

from __future__ import annotations

import datetime
import io
import random
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core import mail
from django.db.models import Count, Sum
from django.utils import timezone
from pypdf import PdfReader

from grants import demo, reminders
from grants.models import (
    Allocation,
    Bill,
    Funder,
    Grant,
    GrantPayment,
    Milestone,
    PayRecord,
    Person,
)
from ledger import demo as ledger_demo
from ledger.demo import window
from ledger.models import CostCentre, Posting, Transaction
from ledger.querysets import month_start

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
MONTHS = window(TODAY)
PERSONNEL_ACCOUNTS = ("expense-salaries", "expense-social-costs", "expense-freelancers")


def seed(log=None):
    messages = [] if log is None else log
    demo.seed(rng=random.Random("2026:grants"), today=TODAY, real_kinds=demo.PROVIDES, log=messages.append)
    return messages


@pytest.fixture
def seeded(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return seed()


def total(postings) -> Decimal:
    return postings.total()


def test_seeding_makes_grants_of_every_funding_model_and_state(seeded):
    grants = Grant.objects.all()

    assert grants.count() >= 4
    assert Funder.objects.count() == 4
    assert grants.filter(funding_model=Grant.FundingModel.MILESTONES).count() >= 3
    assert grants.filter(funding_model=Grant.FundingModel.ACTUAL_COST).exists()
    assert grants.filter(funding_model=Grant.FundingModel.TRANCHES).exists()
    assert grants.filter(state=Grant.State.CLOSED).count() == 1
    assert grants.filter(state=Grant.State.ACTIVE).count() >= 3
    actual_cost = grants.get(funding_model=Grant.FundingModel.ACTUAL_COST)
    assert actual_cost.indirect_cost_rate == Decimal("25.00")
    assert actual_cost.budget_lines.count() >= 6
    assert all(grant.cost_centre is not None for grant in grants)
    assert all(grant.documents.exists() for grant in grants)


def test_nlnet_grants_have_paid_overdue_and_upcoming_milestones(seeded):
    nlnet = Milestone.objects.filter(grant__funder__name__startswith="NLnet", amount__isnull=False)

    assert Grant.objects.filter(funder__name__startswith="NLnet").count() == 2
    assert nlnet.filter(state=Milestone.State.PAID).count() >= 3
    assert Milestone.objects.overdue(today=TODAY).count() == 1
    upcoming = nlnet.open().filter(due_date__gte=TODAY, due_date__lte=TODAY + datetime.timedelta(days=14))
    assert upcoming.count() == 1
    for milestone in Milestone.objects.filter(state=Milestone.State.PAID):
        assert milestone.request_number.startswith("ZA-")
        assert milestone.payment.amount == milestone.payable_amount
        assert milestone.payment.received_on < TODAY


def test_request_numbers_follow_their_dates(seeded):
    requests = Milestone.objects.exclude(request_number="").order_by("request_number")

    by_number = [(m.request_date.year, m.request_date) for m in requests]
    assert len(by_number) >= 7
    assert by_number == sorted(by_number)


def test_grant_income_on_each_grants_cost_centre_equals_its_payments(seeded):
    for grant in Grant.objects.all():
        received = grant.payments.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
        income = total(Posting.objects.filter(cost_centre=grant.cost_centre, account__code="income-grants"))
        assert -income == received, grant.code
    closed = Grant.objects.get(state=Grant.State.CLOSED)
    assert closed.payments.aggregate(total=Sum("amount"))["total"] == closed.awarded_amount


def test_six_people_have_24_months_of_posted_pay(seeded):
    people = Person.objects.all()

    assert people.filter(kind=Person.Kind.EMPLOYEE).count() == 4
    assert people.filter(kind=Person.Kind.FREELANCER).count() == 2
    for person in people:
        months = list(person.pay_records.order_by("month").values_list("month", flat=True))
        assert months == MONTHS, person.name
    assert not PayRecord.objects.filter(posted_at__isnull=True).exists()
    for record in PayRecord.objects.filter(person__kind=Person.Kind.EMPLOYEE):
        assert Decimal("2800") <= record.gross_salary <= Decimal("7000")
        assert Decimal("0.205") <= record.employer_social_costs / record.gross_salary <= Decimal("0.215")
        assert record.freelancer_invoice == Decimal("0.00")
    for record in PayRecord.objects.filter(person__kind=Person.Kind.FREELANCER):
        assert record.freelancer_invoice > 0
        assert record.gross_salary == record.employer_social_costs == Decimal("0.00")


def test_allocations_vary_and_never_exceed_100_percent(seeded):
    totals = Allocation.objects.values("person", "month").annotate(total=Sum("percent"))

    assert max(row["total"] for row in totals) <= Decimal("100")
    assert Allocation.objects.values("grant").distinct().count() == Grant.objects.count()
    shares = Allocation.objects.filter(person__name="Mara Lindner", grant__funding_model="actual_cost")
    assert shares.values("percent").distinct().count() >= 2


def test_pay_on_each_cost_centre_follows_the_allocation_to_the_cent(seeded):
    """An independent split: each expense line × each grant's share, rounded half up; the rest is core."""
    expected: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    shares = defaultdict(list)
    for allocation in Allocation.objects.select_related("grant__cost_centre").filter(grant__isnull=False):
        shares[(allocation.person_id, allocation.month)].append(allocation)
    for record in PayRecord.objects.all():
        for amount in (record.gross_salary, record.employer_social_costs, record.freelancer_invoice):
            charged = Decimal("0.00")
            for allocation in shares[(record.person_id, record.month)]:
                part = (amount * allocation.percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                expected[allocation.grant.cost_centre.code] += part
                charged += part
            expected["CORE"] += amount - charged

    booked = Posting.objects.filter(account__code__in=PERSONNEL_ACCOUNTS).totals_by_cost_centre()
    assert booked == dict(expected)


def test_a_later_allocation_change_is_booked_as_a_reclassification(seeded):
    reclassifications = Transaction.objects.filter(idempotency_key__regex=r"^grants:pay:\d+:v\d+$")

    assert reclassifications.count() == 1
    reclassification = reclassifications.get()
    assert reclassification.booking_date >= month_start(TODAY)
    amounts = list(reclassification.postings.values_list("amount", flat=True))
    assert sum(amounts) == Decimal("0.00")
    assert any(amount > 0 for amount in amounts)


def test_bills_cover_24_months_with_pdf_vouchers(seeded):
    hosting = Bill.objects.filter(supplier="Hetzner Online GmbH", cost_centre__code="CORE")

    assert sorted(month_start(day) for day in hosting.values_list("bill_date", flat=True)) == MONTHS
    assert set(Bill.objects.values_list("account_code", flat=True)) >= {
        "expense-hosting",
        "expense-other",
        "expense-travel",
        "expense-equipment",
        "expense-subcontracting",
    }
    assert Bill.objects.exclude(cost_centre__code="CORE").exists()  # some are charged to grants
    assert Bill.objects.filter(status=Bill.Status.OPEN).exists()
    for bill in Bill.objects.order_by("?")[:5]:
        with bill.voucher.open("rb") as stream:
            text = PdfReader(io.BytesIO(stream.read())).pages[0].extract_text()
        assert bill.number in text


def test_seeded_books_balance_and_payables_equal_the_open_bills(seeded):
    open_bills = sum(bill.gross_amount for bill in Bill.objects.filter(status=Bill.Status.OPEN))

    assert total(Posting.objects.all()) == Decimal("0.00")
    for transaction in Transaction.objects.annotate(lines=Count("postings")):
        assert total(transaction.postings.all()) == Decimal("0.00"), transaction.idempotency_key
    assert total(Posting.objects.filter(account__code="payables")) == -open_bills
    paid = sum(bill.gross_amount for bill in Bill.objects.filter(status=Bill.Status.PAID))
    costs = total(
        Posting.objects.filter(transaction__idempotency_key__regex=r"^grants:bill:\d+$", amount__gt=0)
    )
    assert costs == paid + open_bills


def test_seeded_history_lies_in_the_demo_window(seeded):
    not_reclassified = Posting.objects.exclude(transaction__idempotency_key__regex=r":v\d+$")

    assert not Posting.objects.filter(booking_date__lt=MONTHS[0]).exists()
    assert not not_reclassified.filter(booking_date__gte=month_start(TODAY)).exists()
    assert not GrantPayment.objects.filter(received_on__gte=TODAY).exists()


def test_no_emails_while_seeding_and_the_reminders_due_by_today_count_as_sent(seeded):
    assert mail.outbox == []
    overdue = Milestone.objects.overdue(today=TODAY).get()
    assert overdue.overdue_reminder_sent_at is not None
    assert overdue.reminder_14_sent_at is not None

    assert sum(reminders.grant_reminders_send(today=TODAY).values()) == 0
    assert mail.outbox == []


def test_a_second_run_adds_nothing(seeded):
    def counts():
        return [
            model.objects.count()
            for model in (Funder, Grant, Milestone, GrantPayment, Person, PayRecord, Allocation, Bill)
        ] + [Transaction.objects.count(), Posting.objects.count()]

    before = counts()

    messages = seed()

    assert counts() == before
    assert "already there" in messages[-1]


def test_seeding_is_fast():
    started = time.monotonic()
    seed()

    assert time.monotonic() - started < 20


def test_the_ledger_then_makes_up_no_grants_pay_or_hosting(seeded):
    grant_codes = set(Grant.objects.values_list("code", flat=True))

    ledger_demo.seed(
        rng=random.Random(7), today=TODAY, real_kinds=set(demo.PROVIDES), log=lambda message: None
    )

    assert (
        set(CostCentre.objects.filter(kind=CostCentre.Kind.GRANT).values_list("code", flat=True))
        == grant_codes
    )
    keys = Transaction.objects.filter(idempotency_key__startswith="demo:").values_list(
        "idempotency_key", flat=True
    )
    assert not [key for key in keys if key.split(":")[1] in demo.PROVIDES]
    assert total(Posting.objects.all()) == Decimal("0.00")
