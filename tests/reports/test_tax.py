"""Tax figures for finance: spheres, the §64(3) AO monitor, the VAT return, the EC sales list and their screens.

Every expected figure is computed here from the postings (or invoices) this test made, with the chart's facts
(which sphere and category an account has) written out here, never with the report code's own functions.
"""

from __future__ import annotations

import csv
import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.urls import include, path

import config.urls
from ledger.models import Account, TaxSphere
from ledger.services import PostingLine, transaction_post
from reports import tax, tax_admin
from reports.models import ThresholdAlert
from reports.tasks import threshold_monitor
from sponsors import services as sponsor_services
from sponsors.models import Invoice
from tests.factories.ledger import AccountFactory
from tests.factories.sponsors import PackageFactory, SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

# The tax screens as the reports' admin hooks register them (under /admin/), in front of the project's URLs.
urlpatterns = [path("admin/", include(tax_admin.admin_urls())), *config.urls.urlpatterns]
THIS_URLCONF = __name__

SPHERES_URL = "/admin/reports/tax/spheres/"
VAT_URL = "/admin/reports/tax/vat/"
EC_SALES_URL = "/admin/reports/tax/ec-sales/"
DATEV_URL = "/admin/reports/tax/datev/"
SCREENS = [SPHERES_URL, VAT_URL, EC_SALES_URL, DATEV_URL]

# The chart's facts the tests rely on (ledger/migrations/0002_default_chart.py): sphere, kind, category.
CHART = {
    "income-donations": (1, "income", "donations"),
    "income-grants": (1, "income", "grants"),
    "income-patrons-perks": (4, "income", "patrons"),
    "income-sponsorship-vat": (4, "income", "sponsorships"),
    "income-sponsorship-reverse-charge": (4, "income", "sponsorships"),
    "income-sponsorship-non-eu": (4, "income", "sponsorships"),
    "income-merchandise": (4, "income", "other_income"),
    "income-interest": (2, "income", "other_income"),
    "expense-salaries": (1, "expense", "personnel"),
    "expense-social-costs": (1, "expense", "personnel"),
    "expense-payment-fees": (1, "expense", "payment_fees"),
    "expense-hosting": (1, "expense", "hosting"),
}
VAT = "vat-payable-19"

_keys = iter(range(1, 1_000_000))


def post(day: datetime.date, *lines: tuple[str, str], description: str = "Test") -> list[tuple[str, Decimal]]:
    """Post one transaction; returns its lines as (account code, Decimal) for the expected sums."""
    parsed = [(code, Decimal(amount)) for code, amount in lines]
    transaction_post(
        booking_date=day,
        description=description,
        idempotency_key=f"test-tax:{next(_keys)}",
        lines=[PostingLine(code, amount) for code, amount in parsed],
    )
    return parsed


def sale_19(
    day: datetime.date, gross: str, account: str = "income-patrons-perks"
) -> list[tuple[str, Decimal]]:
    """A sale at 19 % VAT as the fundraising service books it: Stripe gross, income net, VAT."""
    gross_amount = Decimal(gross)
    vat = (gross_amount * 19 / 119).quantize(Decimal("0.01"))
    return post(day, ("stripe", str(gross_amount)), (account, str(-(gross_amount - vat))), (VAT, str(-vat)))


# --- Spheres ---------------------------------------------------------------------------------------------


def test_income_and_spending_per_sphere_and_category_for_a_year_equal_the_postings():
    year_postings = [
        post(datetime.date(2025, 1, 10), ("bank", "1000.00"), ("income-donations", "-1000.00")),
        post(datetime.date(2025, 2, 3), ("bank", "24000.00"), ("income-grants", "-24000.00")),
        sale_19(datetime.date(2025, 3, 3), "595.00"),
        post(
            datetime.date(2025, 3, 9), ("income-patrons-perks", "50.00"), (VAT, "9.50"), ("stripe", "-59.50")
        ),
        post(datetime.date(2025, 4, 1), ("bank", "12.34"), ("income-interest", "-12.34")),
        sale_19(datetime.date(2025, 6, 30), "119.00", account="income-merchandise"),
        post(
            datetime.date(2025, 7, 31),
            ("expense-salaries", "4000.00"),
            ("expense-social-costs", "840.00"),
            ("bank", "-4840.00"),
        ),
        post(datetime.date(2025, 12, 31), ("expense-payment-fees", "17.85"), ("stripe", "-17.85")),
        post(datetime.date(2025, 11, 2), ("expense-hosting", "300.00"), ("bank", "-300.00")),
        post(datetime.date(2025, 11, 3), ("bank", "20.00"), ("expense-hosting", "-20.00")),  # a credit back
    ]
    # Other years stay out.
    post(datetime.date(2024, 12, 31), ("bank", "777.00"), ("income-donations", "-777.00"))
    post(datetime.date(2026, 1, 1), ("expense-salaries", "999.00"), ("bank", "-999.00"))

    expected_income: dict[tuple[int, str], Decimal] = {}
    expected_spending: dict[tuple[int, str], Decimal] = {}
    for lines in year_postings:
        for code, amount in lines:
            if code not in CHART:
                continue
            sphere, kind, category = CHART[code]
            if kind == "income":
                expected_income[(sphere, category)] = expected_income.get((sphere, category), 0) - amount
            else:
                expected_spending[(sphere, category)] = expected_spending.get((sphere, category), 0) + amount

    figures = tax.sphere_figures(2025)

    for sphere in (1, 2, 3, 4):
        column = figures.sphere(sphere)
        for category, amount in column.income.items():
            assert amount == expected_income.get((sphere, category), Decimal("0.00")), (sphere, category)
        for category, amount in column.spending.items():
            assert amount == expected_spending.get((sphere, category), Decimal("0.00")), (sphere, category)
        income = sum((v for (s, _), v in expected_income.items() if s == sphere), Decimal("0.00"))
        spending = sum((v for (s, _), v in expected_spending.items() if s == sphere), Decimal("0.00"))
        assert column.income_total == income
        assert column.spending_total == spending
        assert column.result == income - spending
    assert figures.sphere(4).income["patrons"] == Decimal("450.00")  # 500 net sale - 50 net refund
    assert figures.income_total == sum(expected_income.values())
    assert figures.spending_total == sum(expected_spending.values())
    assert figures.result == sum(expected_income.values()) - sum(expected_spending.values())


@pytest.mark.urls(THIS_URLCONF)
def test_spheres_screen_shows_the_year_and_downloads_the_same_figures_as_csv(finance_client):
    post(datetime.date(2025, 5, 5), ("bank", "1234.50"), ("income-donations", "-1234.50"))
    sale_19(datetime.date(2025, 5, 6), "1190.00", account="income-sponsorship-vat")

    page = finance_client.get(SPHERES_URL, {"year": "2025"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "1,234.50 EUR" in text  # donations, sphere 1
    assert "1,000.00 EUR" in text  # sponsorship net, sphere 4
    assert "Non-profit core (ideeller Bereich)" in text
    assert "45,000.00 EUR" in text  # the §64 limit
    assert "1,190.00 EUR" in text  # gross receipts of the taxable business

    response = finance_client.get(SPHERES_URL, {"year": "2025", "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    donations = next(row for row in rows if row[1] == "Donations")
    assert donations[2:] == ["1234.50", "0.00", "0.00", "0.00", "1234.50"]
    sponsorships = next(row for row in rows if row[1] == "Sponsorships")
    assert sponsorships[2:] == ["0.00", "0.00", "0.00", "1000.00", "1000.00"]
    assert rows[-1][0] == "Result"
    assert rows[-1][-1] == "2234.50"


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize("year", ["0000", "13x", "", "99999"])
def test_a_bad_year_gives_a_message_not_a_500(finance_client, year):
    response = finance_client.get(SPHERES_URL, {"year": year})
    assert response.status_code == 400
    assert "The period was not understood" in response.content.decode()


# --- §64(3) AO monitor -----------------------------------------------------------------------------------


@pytest.fixture
def finance_people(make_user, settings):
    settings.FINANCE_ALERT_EMAIL = ""
    return [
        make_user("finance", email="kim@commons.example.org"),
        make_user("finance", email="sam@commons.example.org"),
    ]


def test_taxable_receipts_are_sphere_four_income_with_its_vat():
    year = 2026
    booked = [
        sale_19(datetime.date(year, 1, 5), "5950.00"),
        sale_19(datetime.date(year, 2, 5), "1190.00", account="income-sponsorship-vat"),
        post(
            datetime.date(year, 2, 6),
            ("receivables", "3000.00"),
            ("income-sponsorship-reverse-charge", "-3000.00"),
        ),
        post(datetime.date(year, 2, 7), ("receivables", "800.00"), ("income-sponsorship-non-eu", "-800.00")),
        post(
            datetime.date(year, 2, 8),
            ("income-patrons-perks", "100.00"),
            (VAT, "19.00"),
            ("stripe", "-119.00"),
        ),
    ]
    # Not taxable-business receipts: a donation, interest, a VAT payment to the tax office, last year's sale.
    post(datetime.date(year, 3, 1), ("bank", "10000.00"), ("income-donations", "-10000.00"))
    post(datetime.date(year, 3, 2), ("bank", "50.00"), ("income-interest", "-50.00"))
    post(datetime.date(year, 3, 10), (VAT, "1000.00"), ("bank", "-1000.00"))
    sale_19(datetime.date(year - 1, 12, 31), "11900.00")

    expected = -sum(amount for lines in booked for code, amount in lines if code in CHART or code == VAT)
    assert expected == Decimal("5950.00") + Decimal("1190.00") + Decimal("3000.00") + Decimal(
        "800.00"
    ) - Decimal("119.00")
    assert tax.taxable_receipts(year) == expected


def test_the_monitor_mails_finance_once_at_80_and_once_at_100_percent(finance_people, settings):
    settings.TAXABLE_BUSINESS_LIMIT = Decimal("45000.00")
    year = 2026
    sale_19(datetime.date(year, 1, 10), "30000.00")  # 66.7 %: nothing
    assert tax.threshold_check(year) == []
    assert mail.outbox == []

    sale_19(datetime.date(year, 2, 10), "6000.00")  # 36,000.00 = 80 %
    alerts = tax.threshold_check(year)
    assert [alert.level for alert in alerts] == [80]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["kim@commons.example.org", "sam@commons.example.org"]
    assert "80 %" in message.subject
    assert "36000.00 EUR" in message.body
    assert "45000.00 EUR" in message.body

    assert tax.threshold_check(year) == []  # the next day's run
    sale_19(datetime.date(year, 3, 10), "100.00")
    assert tax.threshold_check(year) == []
    assert len(mail.outbox) == 1

    sale_19(datetime.date(year, 4, 10), "8900.00")  # 45,000.00 = 100 %
    assert [alert.level for alert in tax.threshold_check(year)] == [100]
    assert len(mail.outbox) == 2
    assert "passed 45000.00 EUR" in mail.outbox[1].subject
    assert tax.threshold_check(year) == []
    assert len(mail.outbox) == 2
    assert list(
        ThresholdAlert.objects.filter(year=year).order_by("level").values_list("level", "receipts")
    ) == [
        (80, Decimal("36000.00")),
        (100, Decimal("45000.00")),
    ]


def test_the_limit_comes_from_the_setting(finance_people, settings):
    settings.TAXABLE_BUSINESS_LIMIT = Decimal("1000.00")
    sale_19(datetime.date(2026, 5, 1), "800.00")
    assert [alert.level for alert in tax.threshold_check(2026)] == [80]
    assert "1000.00 EUR" in mail.outbox[0].body


def test_a_jump_past_100_percent_records_both_levels_and_sends_one_mail(finance_people):
    sale_19(datetime.date(2026, 6, 1), "50000.00")
    assert [alert.level for alert in tax.threshold_check(2026)] == [80, 100]
    assert len(mail.outbox) == 1
    assert "passed" in mail.outbox[0].subject


def test_an_alert_another_worker_recorded_first_is_not_sent_again(finance_people):
    """The unique constraint decides: this worker's insert fails and it sends nothing for that level."""
    sale_19(datetime.date(2026, 7, 1), "40000.00")
    ThresholdAlert.objects.create(year=2026, level=80, receipts=Decimal("40000.00"))  # the other worker's row
    assert tax.threshold_check(2026) == []
    assert mail.outbox == []
    assert ThresholdAlert.objects.filter(year=2026).count() == 1


def test_the_daily_task_checks_the_current_year(finance_people, settings):
    settings.TAXABLE_BUSINESS_LIMIT = Decimal("100.00")
    from django.utils import timezone

    sale_19(timezone.localdate(), "100.00")
    assert threshold_monitor.apply().get() == [80, 100]
    assert threshold_monitor.apply().get() == []
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_mail(finance_people):
    sale_19(datetime.date(2026, 8, 1), "40000.00")
    barrier = threading.Barrier(2)
    results: list = []

    def worker():
        barrier.wait()
        try:
            results.append(tax.threshold_check(2026))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(result) for result in results) == [0, 1]
    assert ThresholdAlert.objects.filter(year=2026).count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.urls(THIS_URLCONF)
def test_the_spheres_screen_shows_the_monitor_and_the_alerts_sent(finance_client, finance_people):
    sale_19(datetime.date(2026, 2, 1), "40500.00")  # 90 %
    tax.threshold_check(2026)
    text = finance_client.get(SPHERES_URL, {"year": "2026"}).content.decode()
    assert "40,500.00 EUR of 45,000.00 EUR: 90.0 % of the limit." in text
    assert 'class="tax-meter__bar tax-meter__bar--warning" style="width: 90.0%"' in text
    assert "80 %" in text
    assert "No alert was sent for this year." not in text


# --- VAT return ------------------------------------------------------------------------------------------


@pytest.fixture
def reduced_rate_accounts(db):
    AccountFactory(
        code="income-books",
        kind=Account.Kind.INCOME,
        category=Account.Category.OTHER_INCOME,
        tax_sphere=TaxSphere.TAXABLE_BUSINESS,
        vat_rate=Decimal("7.00"),
        datev_number="8300",
    )
    AccountFactory(
        code="vat-payable-7",
        kind=Account.Kind.LIABILITY,
        category=Account.Category.TAX,
        tax_sphere=None,
        vat_rate=Decimal("7.00"),
        datev_number="1771",
    )


def _march_2026():
    """A month with sales at 19 % and 7 %, a refund, a credit note, reverse-charge and non-EU sales, untaxed
    income, and a VAT payment to the tax office. Returns the postings."""
    day = datetime.date(2026, 3, 10)
    return [
        sale_19(day, "595.00"),  # 500.00 + 95.00
        post(day, ("receivables", "1190.00"), ("income-sponsorship-vat", "-1000.00"), (VAT, "-190.00")),
        post(day, ("income-patrons-perks", "50.00"), (VAT, "9.50"), ("stripe", "-59.50")),  # refund
        post(
            day, ("income-sponsorship-vat", "200.00"), (VAT, "38.00"), ("receivables", "-238.00")
        ),  # credit note
        post(day, ("bank", "107.00"), ("income-books", "-100.00"), ("vat-payable-7", "-7.00")),
        post(day, ("receivables", "2000.00"), ("income-sponsorship-reverse-charge", "-2000.00")),
        post(day, ("receivables", "1500.55"), ("income-sponsorship-non-eu", "-1500.55")),
        post(day, ("bank", "300.00"), ("income-donations", "-300.00")),
        post(day, ("bank", "5000.00"), ("income-grants", "-5000.00")),
        post(day, ("bank", "10.00"), ("income-interest", "-10.00")),
        post(day, (VAT, "400.00"), ("bank", "-400.00")),  # paying February's VAT: not part of March's return
    ]


def test_vat_return_of_a_month_equals_the_sums_of_its_postings(reduced_rate_accounts):
    march = _march_2026()
    sale_19(datetime.date(2026, 2, 27), "1190.00")  # February stays out
    sale_19(datetime.date(2026, 4, 1), "1190.00")  # and April

    def income(codes):
        return -sum(amount for lines in march for code, amount in lines if code in codes)

    sales_transactions = [lines for lines in march if any(code.startswith("income-") for code, _ in lines)]
    expected_vat_19 = -sum(amount for lines in sales_transactions for code, amount in lines if code == VAT)
    expected_vat_7 = -sum(
        amount for lines in sales_transactions for code, amount in lines if code == "vat-payable-7"
    )

    result = tax.vat_return(tax.TaxPeriod(year=2026, month=3))

    by_rate = {row.rate: row for row in result.sales_by_rate}
    assert by_rate[Decimal("19.00")].base == income({"income-patrons-perks", "income-sponsorship-vat"})
    assert by_rate[Decimal("19.00")].base == Decimal("1250.00")  # 500 + 1000 - 50 - 200
    assert by_rate[Decimal("19.00")].field == "81"
    assert by_rate[Decimal("19.00")].vat_booked == expected_vat_19 == Decimal("237.50")
    assert by_rate[Decimal("7.00")].base == Decimal("100.00")
    assert by_rate[Decimal("7.00")].field == "86"
    assert by_rate[Decimal("7.00")].vat_booked == expected_vat_7
    assert result.vat_payable == expected_vat_19 + expected_vat_7
    assert result.reverse_charge == income({"income-sponsorship-reverse-charge"}) == Decimal("2000.00")
    assert result.non_eu == income({"income-sponsorship-non-eu"})
    assert result.non_eu_whole == 1500
    assert result.untaxed_by_sphere[1] == income({"income-donations", "income-grants"})
    assert result.untaxed_by_sphere[2] == income({"income-interest"})
    assert result.untaxed_by_sphere[4] == Decimal("0.00")


def test_vat_return_of_a_quarter_adds_its_months():
    sale_19(datetime.date(2026, 1, 31), "119.00")
    sale_19(datetime.date(2026, 3, 31), "238.00")
    sale_19(datetime.date(2026, 4, 1), "357.00")
    result = tax.vat_return(tax.TaxPeriod(year=2026, quarter=1))
    assert result.sales_by_rate[0].base == Decimal("100.00") + Decimal("200.00")
    assert result.vat_payable == Decimal("19.00") + Decimal("38.00")


@pytest.mark.urls(THIS_URLCONF)
def test_input_vat_on_an_asset_tax_account_is_field_66_and_lowers_the_balance(finance_client):
    AccountFactory(
        code="input-vat-19",
        kind=Account.Kind.ASSET,
        category=Account.Category.TAX,
        tax_sphere=None,
        vat_rate=Decimal("19.00"),
        datev_number="1576",
    )
    sale_19(datetime.date(2026, 3, 2), "1190.00")
    post(
        datetime.date(2026, 3, 3),
        ("expense-hosting", "100.00"),
        ("input-vat-19", "19.00"),
        ("bank", "-119.00"),
    )
    result = tax.vat_return(tax.TaxPeriod(year=2026, month=3))
    assert result.vat_payable == Decimal("190.00")
    assert result.input_vat == Decimal("19.00")
    assert result.balance == Decimal("190.00") - Decimal("19.00")
    rows = list(
        csv.reader(
            io.StringIO(
                finance_client.get(VAT_URL, {"year": "2026", "period": "3", "export": "csv"}).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert next(row for row in rows if row[0] == "66")[2:] == ["19.00", "", "19.00"]


@pytest.mark.urls(THIS_URLCONF)
def test_vat_screen_names_the_return_fields_and_offers_csv(finance_client, reduced_rate_accounts):
    _march_2026()
    text = finance_client.get(VAT_URL, {"year": "2026", "period": "3"}).content.decode()
    for field in ("Kz 81", "Kz 86", "Kz 21", "Kz 45"):
        assert field in text
    assert "1,250.00 EUR" in text
    assert "1,500.55 EUR" in text
    assert "1,500 EUR" in text  # whole euros for Kz 45
    assert "237.50 EUR" in text

    response = finance_client.get(VAT_URL, {"year": "2026", "period": "3", "export": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_field = {row[0]: row for row in rows if row[0]}
    assert by_field["81"][2:4] == ["1250.00", "1250"]
    assert by_field["81"][4] == "237.50"
    assert by_field["86"][2:] == ["100.00", "100", "7.00"]
    assert by_field["21"][2:4] == ["2000.00", "2000"]
    assert by_field["45"][2:4] == ["1500.55", "1500"]

    quarter = finance_client.get(VAT_URL, {"year": "2026", "period": "q1"})
    assert quarter.status_code == 200
    assert "2026 Q1" in quarter.content.decode()


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize("period", ["13", "0", "q5", "march"])
def test_vat_screen_refuses_a_month_that_does_not_exist(finance_client, period):
    response = finance_client.get(VAT_URL, {"year": "2026", "period": period})
    assert response.status_code == 400
    assert "Choose a month from 1 to 12 or a quarter from Q1 to Q4." in response.content.decode()


# --- EC sales list ---------------------------------------------------------------------------------------


@pytest.fixture
def _private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }


def invoice(*, sponsor, issue_date: datetime.date, price: str = "6000.00") -> Invoice:
    sponsorship = SponsorshipFactory(
        sponsor=sponsor, package=PackageFactory(price=Decimal(price)), status="submitted"
    )
    sponsor_services.sponsorship_approve(sponsorship=sponsorship, by=None, issue_invoice=False)
    return sponsor_services.invoice_issue(sponsorship=sponsorship, issue_date=issue_date)


def test_ec_sales_list_sums_reverse_charge_sales_per_customer_vat_id_by_invoice_date(
    _private_storage, organisation
):
    french = SponsorFactory(french=True)  # FR40303265045
    austrian = SponsorFactory(country="AT", vat_id="ATU13585627", city="Wien", postcode="1010")
    dutch = SponsorFactory(country="NL", vat_id="NL 0044 95445B01", city="Amsterdam", postcode="1011")
    in_quarter = [
        invoice(sponsor=french, issue_date=datetime.date(2026, 1, 15), price="6000.00"),
        invoice(sponsor=french, issue_date=datetime.date(2026, 3, 31), price="1234.56"),
        invoice(sponsor=austrian, issue_date=datetime.date(2026, 2, 1), price="2500.50"),
        invoice(sponsor=dutch, issue_date=datetime.date(2026, 1, 1), price="999.49"),
    ]
    invoice(sponsor=french, issue_date=datetime.date(2026, 4, 1))  # next quarter
    invoice(sponsor=austrian, issue_date=datetime.date(2025, 12, 31))  # last quarter
    invoice(sponsor=SponsorFactory(), issue_date=datetime.date(2026, 2, 2))  # German: 19 % VAT, not listed
    invoice(sponsor=SponsorFactory(american=True), issue_date=datetime.date(2026, 2, 3))  # outside the EU
    assert {item.vat_treatment for item in in_quarter} == {"reverse_charge"}

    expected: dict[str, Decimal] = {}
    for item in in_quarter:
        vat_id = item.buyer["vat_id"]
        expected[vat_id] = expected.get(vat_id, Decimal("0.00")) + item.net_amount

    listing = tax.ec_sales_list(2026, 1)

    assert {line.vat_id: line.amount for line in listing.lines} == expected
    by_id = {line.vat_id: line for line in listing.lines}
    assert by_id["FR40303265045"].country_code == "FR"
    assert by_id["FR40303265045"].vat_number == "40303265045"
    assert by_id["NL004495445B01"].country_code == "NL"
    for vat_id, amount in expected.items():
        whole = int(amount.quantize(Decimal("1"), rounding="ROUND_HALF_UP"))
        assert by_id[vat_id].amount_whole == whole
    assert sorted(by_id["FR40303265045"].documents) == sorted(
        item.number for item in in_quarter if item.buyer["vat_id"] == "FR40303265045"
    )
    assert listing.total == sum(expected.values())


def test_a_credit_note_subtracts_in_the_quarter_it_is_issued(_private_storage, organisation):
    from django.utils import timezone

    today = timezone.localdate()
    french = SponsorFactory(french=True)
    kept = invoice(sponsor=french, issue_date=today, price="3000.00")
    cancelled = invoice(sponsor=french, issue_date=today, price="1000.00")
    credit_note = sponsor_services.invoice_cancel(invoice=cancelled, by=None, reason="Wrong package")
    listing = tax.ec_sales_list(today.year, (today.month + 2) // 3)
    (line,) = listing.lines
    assert line.amount == kept.net_amount + cancelled.net_amount - credit_note.net_amount == kept.net_amount
    assert credit_note.number in line.documents


@pytest.mark.urls(THIS_URLCONF)
def test_ec_sales_screen_lists_each_vat_id_in_whole_euros_with_csv(
    finance_client, _private_storage, organisation
):
    french = SponsorFactory(french=True)
    item = invoice(sponsor=french, issue_date=datetime.date(2026, 5, 4), price="1234.56")
    text = finance_client.get(EC_SALES_URL, {"year": "2026", "quarter": "2"}).content.decode()
    whole = int(item.net_amount.quantize(Decimal("1"), rounding="ROUND_HALF_UP"))
    assert "40303265045" in text
    assert f"{whole:,} EUR" in text
    assert "invoice date" in text
    assert 'data-check="differs"' not in text  # the books hold the same reverse-charge income
    response = finance_client.get(EC_SALES_URL, {"year": "2026", "quarter": "2", "export": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][:4] == ["FR", "40303265045", str(whole), f"{item.net_amount:.2f}"]
    assert finance_client.get(EC_SALES_URL, {"year": "2026", "quarter": "5"}).status_code == 400

    # A reverse-charge sale booked without a sponsor invoice: the screen says the books and the list differ.
    post(datetime.date(2026, 6, 1), ("bank", "500.00"), ("income-sponsorship-reverse-charge", "-500.00"))
    text = finance_client.get(EC_SALES_URL, {"year": "2026", "quarter": "2"}).content.decode()
    assert 'data-check="differs"' in text
    assert f"{item.net_amount + Decimal('500.00'):,.2f} EUR" in text


# --- Access ----------------------------------------------------------------------------------------------


@pytest.mark.urls(THIS_URLCONF)
def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in SCREENS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize(("roles", "mfa"), [(("patron",), True), (("patron", "editor"), True)])
def test_patrons_and_editors_get_403(client, make_user, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))
    for url in SCREENS:
        assert client.get(url).status_code == 403, url
        assert client.get(url, {"export": "csv"}).status_code == 403, url


@pytest.mark.urls(THIS_URLCONF)
def test_finance_without_mfa_is_sent_to_set_it_up(client, make_user):
    client.force_login(make_user("patron", "finance", mfa=False))
    for url in SCREENS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/2fa/totp/activate" in response["Location"] or "mfa" in response["Location"], url


@pytest.mark.urls(THIS_URLCONF)
def test_finance_with_mfa_opens_every_tax_screen(finance_client):
    for url in SCREENS:
        assert finance_client.get(url).status_code == 200, url
    for url in SCREENS[:3]:
        response = finance_client.get(url, {"export": "csv"})
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/csv"), url


def test_menu_items_are_shown_to_finance_with_mfa_only(rf, make_user):
    finance = make_user("patron", "finance", mfa=True)
    editor = make_user("patron", "editor", mfa=True)
    items = tax_admin.menu_items()
    assert [str(item.label) for item in items] == [
        "Tax spheres",
        "VAT return",
        "EC sales list",
        "DATEV export",
    ]
    for user, shown in ((finance, True), (editor, False)):
        request = rf.get("/admin/")
        request.user = user
        assert all(item.is_shown(request) is shown for item in items)
