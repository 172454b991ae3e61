"""One pay record moves the dashboard, the grant report and the month's spending by the same amount."""

import datetime
from decimal import Decimal

import pytest

from grants import services
from grants.documents import category_costs
from grants.figures import grant_figures, organisation_figures
from tests.factories.grants import GrantFactory, PayRecordFactory, PersonFactory

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
TODAY = datetime.date(2026, 4, 15)


def snapshot(grant):
    personnel = next(
        c.actual for c in grant_figures(grant, today=TODAY).categories if c.category == "personnel"
    )
    report = category_costs(grant, start=None, end=TODAY)["personnel"]
    march = next(m.spending for m in organisation_figures(today=TODAY).months if m.month == MARCH)
    return personnel, report, march


def test_one_more_pay_record_changes_dashboard_report_and_spending_alike():
    grant = GrantFactory(code="NGI0-ALIKE", start_date=datetime.date(2026, 1, 1))
    services.grant_cost_centre_ensure(grant=grant)
    grant.refresh_from_db()
    first, second = PersonFactory(), PersonFactory()
    for person in (first, second):
        services.allocations_set(person=person, month=MARCH, shares={grant: Decimal("40")})
    services.pay_record_post(pay_record=PayRecordFactory(person=first, month=MARCH))
    before = snapshot(grant)

    services.pay_record_post(
        pay_record=PayRecordFactory(
            person=second,
            month=MARCH,
            gross_salary=Decimal("4321.09"),
            employer_social_costs=Decimal("907.43"),
        )
    )
    after = snapshot(grant)

    charged = Decimal("1728.44") + Decimal("362.97")  # 40 % of each line, rounded half up
    assert after[0] - before[0] == charged  # dashboard: the grant's personnel actual
    assert after[1] - before[1] == charged  # grant report: personnel from the ledger
    assert after[2] - before[2] == Decimal("4321.09") + Decimal("907.43")  # the month's spending, all centres
