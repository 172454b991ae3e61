"""The DATEV export: the file's header and booking lines parse back to the ledger's amounts, accounts and spheres.

The test reads the file the way DATEV would: Windows-1252, ``;``, CRLF, decimal comma; each line books its
amount on Konto (S = debit) and the opposite on Gegenkonto; on an automatic revenue account (SKR 03 8400-8403,
19 %) or with a BU key DATEV takes the VAT out of the gross amount and books it on 1776 itself. The result,
per DATEV account and per KOST1, must equal the sums of the postings this test made.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Account, TaxSphere
from ledger.services import PostingLine, transaction_post
from reports.datev import datev_export
from tests.factories.ledger import AccountFactory, CostCentreFactory

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 1, 1)
END = datetime.date(2026, 3, 31)
VAT = "vat-payable-19"

# What DATEV knows about SKR 03 (not read from the code under test): automatic accounts with 19 % VAT, the
# rates of the BU keys, and the account DATEV books 19 % output VAT on.
AUTOMATIC_19 = {"8400", "8401", "8402", "8403"}
BU_RATES = {"3": Decimal("19"), "2": Decimal("7"), "9": Decimal("19"), "8": Decimal("7")}
VAT_ACCOUNT_19 = "1776"

_keys = iter(range(1, 1_000_000))


@pytest.fixture
def workshops(db):
    """A revenue account with 19 % VAT that is NOT a DATEV automatic account: its lines need a BU key."""
    return AccountFactory(
        code="income-workshops",
        kind=Account.Kind.INCOME,
        category=Account.Category.SERVICES,
        tax_sphere=TaxSphere.TAXABLE_BUSINESS,
        vat_rate=Decimal("19.00"),
        datev_automatic=False,
        datev_number="8200",
    )


def post(day, description, *lines, source_reference="", cost_centres=None):
    cost_centres = cost_centres or {}
    transaction_post(
        booking_date=day,
        description=description,
        idempotency_key=f"test-datev:{next(_keys)}",
        source_reference=source_reference,
        lines=[
            PostingLine(code, Decimal(amount), cost_centre=cost_centres.get(index))
            for index, (code, amount) in enumerate(lines)
        ],
    )
    return [(code, Decimal(amount)) for code, amount in lines]


@pytest.fixture
def quarter(workshops):
    """The first quarter of 2026 with every kind of transaction; returns the postings inside the period."""
    grant = CostCentreFactory(code="NGI0-2026")
    booked = [
        post(
            datetime.date(2026, 1, 5),
            "Spende – Förderverein „Grün“ e.V.",
            ("bank", "100.00"),
            ("income-donations", "-100.00"),
        ),
        # A Stripe payment of a perk tier: net to Stripe, the fee, income and VAT on an automatic account.
        post(
            datetime.date(2026, 1, 12),
            "Perk tier RP-2026-00001",
            ("stripe", "580.71"),
            ("expense-payment-fees", "14.29"),
            ("income-patrons-perks", "-500.00"),
            (VAT, "-95.00"),
            source_reference="charge ch_3Pqr",
        ),
        # Payroll: salaries on two cost centres and social costs against the bank.
        post(
            datetime.date(2026, 1, 31),
            "Payroll January 2026",
            ("expense-salaries", "4000.00"),
            ("expense-salaries", "1000.00"),
            ("expense-social-costs", "1050.00"),
            ("bank", "-6050.00"),
            cost_centres={1: grant},
        ),
        post(
            datetime.date(2026, 2, 2),
            "Sponsorship invoice RS-2026-00001: Example GmbH",
            ("receivables", "1190.00"),
            ("income-sponsorship-vat", "-1000.00"),
            (VAT, "-190.00"),
            source_reference="invoice RS-2026-00001",
        ),
        post(
            datetime.date(2026, 2, 20),
            "Bank transfer for sponsorship invoice RS-2026-00001",
            ("bank", "1190.00"),
            ("receivables", "-1190.00"),
            source_reference="RS-2026-00001 Example GmbH",
        ),
        # A 19 % sale on an account that is not automatic: BU key.
        post(
            datetime.date(2026, 2, 25),
            'Workshop "Fediverse" for a school',
            ("bank", "238.00"),
            ("income-workshops", "-200.00"),
            (VAT, "-38.00"),
        ),
        # A refund of part of the perk payment.
        post(
            datetime.date(2026, 3, 3),
            "Refund of RP-2026-00001",
            ("income-patrons-perks", "50.00"),
            (VAT, "9.50"),
            ("stripe", "-59.50"),
        ),
        # Reverse charge: an automatic account without VAT.
        post(
            datetime.date(2026, 3, 4),
            "Sponsorship invoice RS-2026-00002: Nuage SAS",
            ("receivables", "2000.00"),
            ("income-sponsorship-reverse-charge", "-2000.00"),
        ),
        # Paying VAT to the tax office: a line of its own on 1776.
        post(datetime.date(2026, 3, 10), "USt-Vorauszahlung Februar", (VAT, "200.00"), ("bank", "-200.00")),
        post(datetime.date(2026, 3, 31), "Interest", ("bank", "1.23"), ("income-interest", "-1.23")),
    ]
    # Outside the period.
    post(datetime.date(2025, 12, 31), "Old year", ("bank", "70.00"), ("income-donations", "-70.00"))
    post(datetime.date(2026, 4, 1), "Next quarter", ("bank", "80.00"), ("income-donations", "-80.00"))
    return booked


def datev_numbers() -> dict[str, str]:
    return dict(Account.objects.values_list("code", "datev_number"))


def spheres() -> dict[str, int | None]:
    return {
        code: sphere
        for code, sphere, kind in Account.objects.values_list("code", "tax_sphere", "kind")
        if kind in ("income", "expense")
    }


def parse(content: bytes) -> tuple[list[str], list[str], list[dict]]:
    text = content.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"'))
    header, columns, *lines = rows
    bookings = [dict(zip(columns, line, strict=True)) for line in lines]
    return header, columns, bookings


def amount(text: str) -> Decimal:
    whole, cents = text.split(",")
    assert len(cents) == 2 and whole.isdigit(), text
    return Decimal(f"{whole}.{cents}")


def datev_balances(bookings: list[dict]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Signed totals per DATEV account (debit positive) and per KOST1, as DATEV books the lines: S debits
    Konto and credits Gegenkonto (H the other way round); an automatic revenue account or a BU key (which
    belongs to the Gegenkonto) splits the gross amount into net on that account and VAT on 1776. KOST1 goes
    with the amount on the line's income or expense account."""
    result_accounts = set(
        Account.objects.filter(kind__in=["income", "expense"]).values_list("datev_number", flat=True)
    )
    accounts: dict[str, Decimal] = {}
    kost: dict[str, Decimal] = {}
    for line in bookings:
        gross = amount(line["Umsatz (ohne Soll/Haben-Kz)"])
        sign = Decimal(1) if line["Soll/Haben-Kennzeichen"] == "S" else Decimal(-1)
        konto, gegen, bu = line["Konto"], line["Gegenkonto (ohne BU-Schlüssel)"], line["BU-Schlüssel"]
        assert konto != gegen
        booked = {konto: sign * gross, gegen: -sign * gross}
        if bu:
            tax_account, rate = gegen, BU_RATES[bu]
        elif gegen in AUTOMATIC_19:
            tax_account, rate = gegen, Decimal(19)
        elif konto in AUTOMATIC_19:
            tax_account, rate = konto, Decimal(19)
        else:
            tax_account, rate = None, None
        if tax_account:
            vat = (gross * rate / (100 + rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            direction = 1 if booked[tax_account] > 0 else -1
            booked[tax_account] -= direction * vat
            booked[VAT_ACCOUNT_19] = direction * vat
        for account, value in booked.items():
            accounts[account] = accounts.get(account, Decimal("0.00")) + value
        if line["KOST1 - Kostenstelle"]:
            (result_account,) = {konto, gegen} & result_accounts
            key = line["KOST1 - Kostenstelle"]
            kost[key] = kost.get(key, Decimal("0.00")) + booked[result_account]
    return accounts, kost


def test_header_fields_parse_back(quarter, settings):
    settings.DATEV_ADVISER_NUMBER = 4711
    settings.DATEV_CLIENT_NUMBER = 12345
    created = datetime.datetime(2026, 4, 2, 9, 30, 15, 123000, tzinfo=datetime.UTC)
    header, columns, _ = parse(datev_export(start=START, end=END, created=created).content)
    assert len(header) == 31
    assert header[0] == "EXTF"
    assert header[1] == "700"
    assert header[2] == "21"
    assert header[3] == "Buchungsstapel"
    assert header[4] == "13"
    assert header[5] == "20260402113015123"  # Berlin time, milliseconds
    assert header[10] == "4711"
    assert header[11] == "12345"
    assert header[12] == "20260101"  # fiscal year start
    assert header[13] == "4"  # account length
    assert header[14] == "20260101"
    assert header[15] == "20260331"
    assert header[16] == "Buchungen 01.01.-31.03.2026"
    assert header[18] == "1"  # financial accounting
    assert header[21] == "EUR"
    assert header[26] == "03"  # SKR 03
    assert len(columns) == 125
    assert columns[0] == "Umsatz (ohne Soll/Haben-Kz)"
    assert columns[1] == "Soll/Haben-Kennzeichen"
    assert columns[2] == "WKZ Umsatz"
    assert columns[6] == "Konto"
    assert columns[7] == "Gegenkonto (ohne BU-Schlüssel)"
    assert columns[8] == "BU-Schlüssel"
    assert columns[9] == "Belegdatum"
    assert columns[10] == "Belegfeld 1"
    assert columns[13] == "Buchungstext"
    assert columns[36] == "KOST1 - Kostenstelle"


def test_the_file_is_windows_1252_with_crlf_and_quoted_texts(quarter):
    content = datev_export(start=START, end=END).content
    assert "Förderverein „Grün“".encode("cp1252") in content
    assert "Förderverein".encode() not in content  # not UTF-8
    assert content.count(b"\r\n") == len(content.split(b"\r\n")) - 1
    assert b"\n" not in content.replace(b"\r\n", b"")
    assert content.startswith(b'"EXTF";700;21;"Buchungsstapel";13;')
    assert b'"Workshop ""Fediverse"" for a school"' in content  # quotes inside a text doubled
    _, _, bookings = parse(content)
    assert all(len(line["Buchungstext"]) <= 60 for line in bookings)
    assert all(len(line["Belegfeld 1"]) <= 36 for line in bookings)


def test_every_line_parses_back_to_the_ledgers_totals_per_account_and_sphere(quarter):
    _, _, bookings = parse(datev_export(start=START, end=END).content)
    numbers, sphere_of = datev_numbers(), spheres()

    expected_accounts: dict[str, Decimal] = {}
    expected_spheres: dict[str, Decimal] = {}
    for lines in quarter:
        for code, value in lines:
            expected_accounts[numbers[code]] = expected_accounts.get(numbers[code], Decimal(0)) + value
            if code in sphere_of:
                key = str(sphere_of[code])
                expected_spheres[key] = expected_spheres.get(key, Decimal(0)) + value

    accounts, kost = datev_balances(bookings)
    nonzero = {key: value for key, value in accounts.items() if value}
    assert nonzero == {key: value for key, value in expected_accounts.items() if value}
    assert {key: value for key, value in kost.items() if value} == {
        key: value for key, value in expected_spheres.items() if value
    }
    for line in bookings:
        assert amount(line["Umsatz (ohne Soll/Haben-Kz)"]) > 0
        assert line["Soll/Haben-Kennzeichen"] in ("S", "H")
        assert len(line["Belegdatum"]) == 4


def test_vat_is_never_doubled(quarter):
    _, _, bookings = parse(datev_export(start=START, end=END).content)
    vat_lines = [
        line for line in bookings if "1776" in (line["Konto"], line["Gegenkonto (ohne BU-Schlüssel)"])
    ]
    # Only the payment to the tax office touches 1776; every sale's VAT is in its gross line.
    assert [line["Buchungstext"] for line in vat_lines] == ["USt-Vorauszahlung Februar"]

    perk = [line for line in bookings if line["Buchungstext"] == "Perk tier RP-2026-00001"]
    by_contra = {line["Gegenkonto (ohne BU-Schlüssel)"]: line for line in perk}
    assert set(by_contra) == {"4970", "8401"}  # against Stripe (1210); no VAT line
    assert {line["Konto"] for line in perk} == {"1210"}
    assert by_contra["8401"]["Umsatz (ohne Soll/Haben-Kz)"] == "595,00"  # gross on the automatic account
    assert by_contra["8401"]["Soll/Haben-Kennzeichen"] == "S"
    assert by_contra["8401"]["BU-Schlüssel"] == ""  # automatic: never a BU key as well
    assert by_contra["4970"]["Umsatz (ohne Soll/Haben-Kz)"] == "14,29"
    assert by_contra["4970"]["Soll/Haben-Kennzeichen"] == "H"
    assert by_contra["8401"]["KOST1 - Kostenstelle"] == "4"
    assert by_contra["4970"]["KOST1 - Kostenstelle"] == "1"
    assert by_contra["8401"]["Belegfeld 1"] == "RP-2026-00001"

    (workshop,) = [line for line in bookings if line["Gegenkonto (ohne BU-Schlüssel)"] == "8200"]
    assert workshop["Umsatz (ohne Soll/Haben-Kz)"] == "238,00"
    assert workshop["BU-Schlüssel"] == "3"  # 19 % output VAT in SKR 03
    assert workshop["Konto"] == "1200"

    (refund,) = [line for line in bookings if line["Buchungstext"] == "Refund of RP-2026-00001"]
    assert (refund["Konto"], refund["Gegenkonto (ohne BU-Schlüssel)"]) == ("1210", "8401")
    assert refund["Umsatz (ohne Soll/Haben-Kz)"] == "59,50"
    assert refund["Soll/Haben-Kennzeichen"] == "H"

    (invoice,) = [
        line for line in bookings if line["Buchungstext"].startswith("Sponsorship invoice RS-2026-00001")
    ]
    assert (
        invoice["Konto"],
        invoice["Gegenkonto (ohne BU-Schlüssel)"],
        invoice["Soll/Haben-Kennzeichen"],
    ) == (
        "1400",
        "8400",
        "S",
    )
    assert invoice["Umsatz (ohne Soll/Haben-Kz)"] == "1190,00"
    assert invoice["Belegfeld 1"] == "RS-2026-00001"


def test_a_multi_posting_payroll_is_one_line_per_posting_against_the_bank(quarter):
    _, _, bookings = parse(datev_export(start=START, end=END).content)
    payroll = [line for line in bookings if line["Buchungstext"] == "Payroll January 2026"]
    assert sorted(
        (line["Konto"], line["Gegenkonto (ohne BU-Schlüssel)"], line["Umsatz (ohne Soll/Haben-Kz)"])
        for line in payroll
    ) == [("1200", "4120", "1000,00"), ("1200", "4120", "4000,00"), ("1200", "4130", "1050,00")]
    assert {line["Soll/Haben-Kennzeichen"] for line in payroll} == {"H"}  # the bank is credited
    assert {line["KOST1 - Kostenstelle"] for line in payroll} == {"1"}
    assert {line["Belegdatum"] for line in payroll} == {"3101"}
    assert len({line["Belegfeld 1"] for line in payroll}) == 1
    assert payroll[0]["Belegfeld 1"].startswith("TX-")  # no document number: the transaction id


def test_two_posting_transactions_are_one_line_debit_against_credit(quarter):
    _, _, bookings = parse(datev_export(start=START, end=END).content)
    (donation,) = [line for line in bookings if line["Buchungstext"].startswith("Spende")]
    assert (donation["Konto"], donation["Gegenkonto (ohne BU-Schlüssel)"]) == ("1200", "8010")
    assert donation["Soll/Haben-Kennzeichen"] == "S"
    assert donation["Umsatz (ohne Soll/Haben-Kz)"] == "100,00"
    assert donation["Belegdatum"] == "0501"
    assert donation["KOST1 - Kostenstelle"] == "1"
    (payment,) = [line for line in bookings if line["Buchungstext"].startswith("Bank transfer")]
    assert payment["Belegfeld 1"] == "RS-2026-00001"  # matches the invoice's line
    assert payment["KOST1 - Kostenstelle"] == ""  # bank against receivables: no sphere
    assert not [line for line in bookings if line["Buchungstext"] in ("Old year", "Next quarter")]


def test_the_management_command_writes_the_same_file(quarter, tmp_path):
    output = tmp_path / "EXTF_Buchungsstapel.csv"
    stdout = io.StringIO()
    call_command(
        "datev_export", "--from", "2026-01-01", "--to", "2026-03-31", "--output", str(output), stdout=stdout
    )
    written = output.read_bytes()
    expected = datev_export(start=START, end=END).content
    # Same file but for the creation time in field 6 of the header.
    assert written.split(b"\r\n")[1:] == expected.split(b"\r\n")[1:]
    assert written.split(b"\r\n")[0].split(b";")[:5] == expected.split(b"\r\n")[0].split(b";")[:5]
    assert written.split(b"\r\n")[0].split(b";")[6:] == expected.split(b"\r\n")[0].split(b";")[6:]
    _, _, bookings = parse(written)
    assert f"Wrote {len(bookings)} bookings" in stdout.getvalue()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-31", "--from '2026-13-01' is not a date; write it as YYYY-MM-DD"),
        ("2026-01-01", "31.03.2026", "--to '31.03.2026' is not a date; write it as YYYY-MM-DD"),
        ("2026-03-31", "2026-01-01", "The start date 2026-03-31 lies after the end date 2026-01-01."),
        ("2025-12-01", "2026-01-31", "lie in different fiscal years"),
    ],
)
def test_the_management_command_refuses_bad_dates_clearly(tmp_path, start, end, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call_command("datev_export", "--from", start, "--to", end, "--output", str(tmp_path / "out.csv"))
    assert not (tmp_path / "out.csv").exists()


def test_an_account_without_a_datev_number_is_named(db, tmp_path):
    AccountFactory(code="income-new", datev_number="")
    transaction_post(
        booking_date=datetime.date(2026, 1, 2),
        description="New",
        idempotency_key="test-datev:new",
        lines=[PostingLine("bank", Decimal("5.00")), PostingLine("income-new", Decimal("-5.00"))],
    )
    with pytest.raises(CommandError, match="income-new"):
        call_command(
            "datev_export", "--from", "2026-01-01", "--to", "2026-01-31", "--output", str(tmp_path / "x")
        )


@pytest.mark.urls("tests.reports.test_tax")
def test_the_datev_screen_downloads_the_file_for_a_valid_period(finance_client, quarter):
    response = finance_client.get("/admin/reports/tax/datev/", {"start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == 'attachment; filename="EXTF_Buchungsstapel_20260101_20260331.csv"'
    )
    assert response["Content-Type"] == "text/csv; charset=cp1252"
    header, _, bookings = parse(response.content)
    assert header[0] == "EXTF"
    accounts, _ = datev_balances(bookings)
    assert accounts["1200"] == Decimal("100.00") - Decimal("6050.00") + Decimal("1190.00") + Decimal(
        "238.00"
    ) - Decimal("200.00") + Decimal("1.23")


@pytest.mark.urls("tests.reports.test_tax")
@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-12-01", "2026-01-31", "different fiscal years"),
        ("2026-03-01", "2026-02-01", "lies after the end date"),
        ("2026-02-30", "2026-03-01", "Enter the first day as YYYY-MM-DD."),
        ("", "2026-03-01", "Enter the first day."),
    ],
)
def test_the_datev_screen_explains_a_bad_period(finance_client, start, end, message):
    response = finance_client.get("/admin/reports/tax/datev/", {"start": start, "end": end})
    assert response.status_code == 400
    assert message in response.content.decode()
