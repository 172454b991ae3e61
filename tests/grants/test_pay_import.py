"""Importing pay records from CSV: a file with any bad row imports nothing and names the row and the
problem; a good file creates and posts every record, balanced, in one go."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from grants import services
from grants.models import PayRecord, Person
from grants.pay_import import MAX_BYTES, MAX_ROWS, amount_parse, pay_records_import
from ledger.models import Account, Posting, Transaction
from tests.factories.grants import GrantFactory, PayRecordFactory, PersonFactory

pytestmark = pytest.mark.django_db

HEADER = "person,month,gross_salary,employer_social_costs,freelancer_invoice,note"
IMPORT_URL = "/admin/grants/pay-import/"
TEMPLATE_URL = "/admin/grants/pay-import/template.csv"


def this_month() -> datetime.date:
    return timezone.localdate().replace(day=1)


def months_back(count: int) -> list[datetime.date]:
    """The ``count`` months before the current one, oldest first."""
    months, month = [], this_month()
    for _ in range(count):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


LAST_MONTH = months_back(1)[0]


def csv_file(content: str | bytes, name: str = "pay.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run(content: str | bytes):
    return pay_records_import(file=csv_file(content), by=None)


def lines(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


@pytest.fixture
def people():
    start = datetime.date(2020, 1, 1)
    return {
        "jonas": PersonFactory(name="Jonas Weber", email="jonas@commons.example.org", start_date=start),
        "mei": PersonFactory(name="Mei Lin", start_date=start),
        "sam": PersonFactory(name="Sam Okafor", kind=Person.Kind.FREELANCER, start_date=start),
        "ana": PersonFactory(name="Ana Pereira", kind=Person.Kind.FREELANCER, start_date=start),
    }


def hundred_rows(people) -> tuple[list[str], Decimal]:
    """4 people × 25 months: the CSV rows and their total, added up here."""
    rows, total = [], Decimal("0.00")
    for index, month in enumerate(months_back(25)):
        for person in people.values():
            if person.kind == Person.Kind.EMPLOYEE:
                gross = Decimal("4000.00") + Decimal(index) + Decimal("0.37")
                social = Decimal("840.15") + Decimal(index)
                rows.append(f"{person.name},{month:%Y-%m},{gross},{social},,salary")
                total += gross + social
            else:
                invoice = Decimal("2500.50") + Decimal(index * 3)
                rows.append(f"{person.name},{month:%Y-%m},,,{invoice},invoice {index}")
                total += invoice
    return rows, total


def nothing_imported():
    assert PayRecord.objects.count() == 0
    assert Transaction.objects.count() == 0


def only_error(result):
    assert not result.imported
    assert len(result.errors) == 1, [str(error) for error in result.errors]
    return result.errors[0]


# --- The whole file ---------------------------------------------------------------------------------


def test_one_bad_row_among_a_hundred_imports_nothing_and_names_the_row(people):
    rows, _total = hundred_rows(people)
    assert len(rows) == 100
    bad = rows[55].split(",")  # spreadsheet row 57 (the header is row 1)
    assert bad[0] == "Ana Pereira"
    rows[55] = ",".join([bad[0], bad[1], "3000.00", "", "", ""])

    result = run(lines(*rows))

    error = only_error(result)
    assert str(error) == (
        "Row 57: “Ana Pereira” is a freelancer, so enter the invoice amount in freelancer_invoice, not a salary."
    )
    assert (error.row, error.column) == (57, "gross_salary")
    nothing_imported()


def test_a_good_file_imports_and_posts_every_row_balanced(people):
    grant = GrantFactory(code="NGI0-PAY", start_date=datetime.date(2020, 1, 1), end_date=this_month())
    services.allocations_set(person=people["mei"], month=LAST_MONTH, shares={grant: Decimal("40")})
    rows, expected_total = hundred_rows(people)

    result = run(lines(*rows))

    assert result.imported, [str(error) for error in result.errors]
    assert result.count == 100
    assert result.total == expected_total
    assert PayRecord.objects.count() == 100
    assert not PayRecord.objects.filter(posted_at__isnull=True).exists()
    assert Transaction.objects.count() == 100
    for txn in Transaction.objects.all():
        assert sum(posting.amount for posting in txn.postings.all()) == Decimal("0.00")
    expenses = Posting.objects.filter(account__code__startswith="expense-").aggregate(total=Sum("amount"))
    assert expenses["total"] == expected_total
    bank = Posting.objects.filter(account__code="bank").aggregate(total=Sum("amount"))
    assert bank["total"] == -expected_total
    # Mei's last month is split by her allocation: 40 % on the grant.
    mei_last = PayRecord.objects.get(person=people["mei"], month=LAST_MONTH)
    on_grant = Posting.objects.filter(cost_centre__code="NGI0-PAY").aggregate(total=Sum("amount"))["total"]
    assert on_grant == (mei_last.gross_salary * Decimal("0.4")).quantize(Decimal("0.01")) + (
        mei_last.employer_social_costs * Decimal("0.4")
    ).quantize(Decimal("0.01"))
    note = PayRecord.objects.get(person=people["ana"], month=LAST_MONTH).note
    assert note == "invoice 24"


def test_records_are_posted_in_month_then_name_order(people):
    month_a, month_b = months_back(2)
    run(
        lines(
            f"Sam Okafor,{month_b:%Y-%m},,,100",
            f"Mei Lin,{month_b:%Y-%m},200,,",
            f"Sam Okafor,{month_a:%Y-%m},,,300",
            f"Ana Pereira,{month_a:%Y-%m},,,400",
        )
    )
    posted = [
        (record.month, record.person.name)
        for record in PayRecord.objects.select_related("person").order_by("posted_at", "pk")
    ]
    assert posted == [
        (month_a, "Ana Pereira"),
        (month_a, "Sam Okafor"),
        (month_b, "Mei Lin"),
        (month_b, "Sam Okafor"),
    ]
    descriptions = [txn.booking_date for txn in Transaction.objects.order_by("pk")]
    assert descriptions == sorted(descriptions)


def test_a_posting_that_fails_midway_rolls_back_every_record(people):
    # Employees are posted first in this file's order (same month, names A–Z: Jonas, Mei, then Sam);
    # the freelancers' account is switched off, so Sam's posting fails after two have succeeded.
    Account.objects.filter(code="expense-freelancers").update(active=False)
    result = run(
        lines(
            f"Jonas Weber,{LAST_MONTH:%Y-%m},3000,600,",
            f"Mei Lin,{LAST_MONTH:%Y-%m},3100,610,",
            f"Sam Okafor,{LAST_MONTH:%Y-%m},,,900",
        )
    )
    error = only_error(result)
    assert error.row == 4
    assert "could not be posted" in error.message
    assert "Nothing was imported" in error.message
    nothing_imported()


def test_semicolons_and_german_decimals(people):
    header = HEADER.replace(",", ";")
    result = run(
        lines(
            f"Jonas Weber;{LAST_MONTH:%Y-%m};4.321,09;907,42;;Gehalt",
            f"Ana Pereira;{LAST_MONTH:%Y-%m};;;1.250,5;Rechnung 17",
            header=header,
        )
    )
    assert result.imported, [str(error) for error in result.errors]
    jonas = PayRecord.objects.get(person=people["jonas"])
    assert (jonas.gross_salary, jonas.employer_social_costs, jonas.note) == (
        Decimal("4321.09"),
        Decimal("907.42"),
        "Gehalt",
    )
    assert PayRecord.objects.get(person=people["ana"]).freelancer_invoice == Decimal("1250.50")
    assert result.total == Decimal("6479.01")


def test_byte_order_mark_and_quoted_values_and_email_are_read(people):
    content = lines(
        f'"jonas@commons.example.org",{LAST_MONTH:%Y-%m},"1,234.56",200,,"bonus, June"',
        header="Person,Month,Gross Salary,Employer Social Costs,Freelancer Invoice,Note",
    )
    result = run(b"\xef\xbb\xbf" + content.encode("utf-8"))
    assert result.imported, [str(error) for error in result.errors]
    record = PayRecord.objects.get()
    assert (record.person, record.gross_salary, record.note) == (
        people["jonas"],
        Decimal("1234.56"),
        "bonus, June",
    )


def test_empty_lines_are_skipped_and_rows_keep_their_spreadsheet_numbers(people):
    result = run(lines(f"Mei Lin,{LAST_MONTH:%Y-%m},1000,,", ",,,,,", f"Nobody,{LAST_MONTH:%Y-%m},1000,,"))
    assert [(error.row, error.column) for error in result.errors] == [(4, "person")]
    nothing_imported()


def test_duplicate_rows_are_refused(people):
    row = f"Mei Lin,{LAST_MONTH:%Y-%m},1000,200,"
    result = run(lines(row, f"Jonas Weber,{LAST_MONTH:%Y-%m},1000,200,", row))
    error = only_error(result)
    assert (
        str(error)
        == f"Row 4: “Mei Lin” already has a row for {LAST_MONTH:%Y-%m} (row 2); one row per person and month."
    )
    nothing_imported()


def test_a_month_already_imported_is_refused(people):
    PayRecordFactory(person=people["mei"], month=LAST_MONTH)
    result = run(lines(f"Jonas Weber,{LAST_MONTH:%Y-%m},1000,200,", f"Mei Lin,{LAST_MONTH:%Y-%m},1000,200,"))
    error = only_error(result)
    assert error.row == 3
    assert f"“Mei Lin” already has a pay record for {LAST_MONTH:%Y-%m}" in error.message
    assert PayRecord.objects.count() == 1


def test_the_same_file_twice_imports_once(people):
    content = lines(f"Mei Lin,{LAST_MONTH:%Y-%m},1000,200,")
    assert run(content).imported
    second = run(content)
    assert "already has a pay record" in only_error(second).message
    assert PayRecord.objects.count() == 1
    assert Transaction.objects.count() == 1


def test_every_problem_of_the_file_is_listed(people):
    result = run(
        lines(
            f"Nobody,{LAST_MONTH:%Y-%m},1000,,",
            "Mei Lin,2026/03,1000,,",
            f"Mei Lin,{LAST_MONTH:%Y-%m},abc,,",
        )
    )
    assert [(error.row, error.column) for error in result.errors] == [
        (2, "person"),
        (3, "month"),
        (4, "gross_salary"),
    ]


# --- Each kind of row problem -----------------------------------------------------------------------

MONTH = LAST_MONTH.strftime("%Y-%m")
NEXT_MONTH = (this_month() + datetime.timedelta(days=32)).strftime("%Y-%m")


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (
            f",{MONTH},1000,,",
            "person",
            "The person is empty. Enter the name exactly as in People, or the e-mail.",
        ),
        (
            f"Ana Perreira,{MONTH},,,1000",
            "person",
            "Nobody in People is called “Ana Perreira”. Enter the name exactly as in People, or the e-mail.",
        ),
        (
            f"ana pereira,{MONTH},,,1000",
            "person",
            "Nobody in People is called “ana pereira”. Did you mean “Ana Pereira”?",
        ),
        (
            f"ghost@example.org,{MONTH},1000,,",
            "person",
            "Nobody in People has the e-mail “ghost@example.org”.",
        ),
        (
            f"Twin,{MONTH},1000,,",
            "person",
            "2 people in People are called “Twin”; enter the e-mail of the one you mean instead.",
        ),
        ("Mei Lin,,1000,,", "month", "The month is empty. Enter it as YYYY-MM"),
        ("Mei Lin,03.2026,1000,,", "month", "“03.2026” is not a month in the form YYYY-MM"),
        ("Mei Lin,2026-13,1000,,", "month", "“2026-13” is not a month in the form YYYY-MM"),
        (
            f"Mei Lin,{NEXT_MONTH},1000,,",
            "month",
            f"{NEXT_MONTH} lies in the future; pay can be imported up to the current month.",
        ),
        (
            "Late Starter,2020-01,1000,,",
            "month",
            "“Late Starter” starts on 2020-02-15, so has no pay in 2020-01.",
        ),
        (f"Gone Already,{MONTH},1000,,", "month", "“Gone Already” left on 2021-06-30, so has no pay in"),
        (
            f"Ana Pereira,{MONTH},3000,,",
            "gross_salary",
            "“Ana Pereira” is a freelancer, so enter the invoice amount in freelancer_invoice, not a salary.",
        ),
        (
            f"Ana Pereira,{MONTH},,500,",
            "employer_social_costs",
            "“Ana Pereira” is a freelancer, so enter the invoice amount in freelancer_invoice, not a salary.",
        ),
        (
            f"Ana Pereira,{MONTH},,,",
            "freelancer_invoice",
            "“Ana Pereira” is a freelancer: enter the invoice amount (more than 0)",
        ),
        (
            f"Mei Lin,{MONTH},,,1000",
            "freelancer_invoice",
            "“Mei Lin” is an employee, so enter the pay in gross_salary and employer_social_costs, not in freelancer_invoice.",
        ),
        (
            f"Mei Lin,{MONTH},,200,",
            "gross_salary",
            "“Mei Lin” is an employee: enter the gross salary (more than 0) in gross_salary",
        ),
        (
            f"Mei Lin,{MONTH},-1000,,",
            "gross_salary",
            "“-1000” in gross_salary is negative; amounts cannot be negative.",
        ),
        (
            f"Mei Lin,{MONTH},1000,12.345,",
            "employer_social_costs",
            "“12.345” in employer_social_costs is ambiguous",
        ),
        (
            f"Mei Lin,{MONTH},1000.555,,",
            "gross_salary",
            "“1000.555” in gross_salary has more than two decimals",
        ),
        (
            f"Mei Lin,{MONTH},1000 EUR x,,",
            "gross_salary",
            "in gross_salary is not an amount. Write it like 1234.56 or 1.234,56.",
        ),
        (
            f"Mei Lin,{MONTH},99999999999,,",
            "gross_salary",
            "“99999999999” in gross_salary is too large for an amount.",
        ),
        (f"Mei Lin,{MONTH},1000,,,{'x' * 201}", "note", "The note is 201 characters long; at most 200 fit."),
        (f"Mei Lin,{MONTH},1000,,,note,extra", "", "The row has more cells than the header has columns."),
    ],
)
def test_each_row_problem_has_a_clear_message(people, row, column, message):
    PersonFactory(name="Twin", email="twin.one@example.org")
    PersonFactory(name="Twin", email="twin.two@example.org")
    PersonFactory(name="Late Starter", start_date=datetime.date(2020, 2, 15))
    PersonFactory(
        name="Gone Already", start_date=datetime.date(2020, 1, 1), end_date=datetime.date(2021, 6, 30)
    )

    result = run(lines(f"Jonas Weber,{MONTH},1000,200,", row))

    error = only_error(result)
    assert (error.row, error.column) == (3, column)
    assert error.message.startswith(message) or message in error.message, error.message
    assert str(error).startswith("Row 3: ")
    nothing_imported()


def test_a_person_can_be_paid_in_the_months_they_start_and_leave(people):
    PersonFactory(
        name="Short Stay", start_date=datetime.date(2021, 3, 20), end_date=datetime.date(2021, 5, 3)
    )
    result = run(lines("Short Stay,2021-03,1000,,", "Short Stay,2021-05,1000,,"))
    assert result.imported, [str(error) for error in result.errors]


def test_the_current_month_can_be_imported(people):
    assert run(lines(f"Mei Lin,{this_month():%Y-%m},1000,,")).imported


# --- Problems of the file as a whole ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf\r\n", "The file is empty."),
        (HEADER.encode() + b"\r\n", "The file has a header row but no pay records."),
        (
            b"person,month,gross_salary\r\nMei Lin,2025-01,100\r\n",
            "The header row (row 1) lacks the columns employer_social_costs, freelancer_invoice.",
        ),
        (
            b"Mei Lin,2025-01,100,,\r\n",
            "The header row (row 1) lacks the columns person, month, gross_salary",
        ),
        (
            (HEADER + ",total\r\nMei Lin,2025-01,100,,,,100\r\n").encode(),
            "The header row (row 1) has columns this import does not know: “total”.",
        ),
        (
            f"{HEADER}\r\nMüller,2025-01,100,,\r\n".encode("latin-1"),
            "The file is not UTF-8 text.",
        ),
        (f"{HEADER}\r\nMei Lin,2025-01,100,,\r\n".encode("utf-16"), "The file is not UTF-8 text."),
        (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", "This is an Excel workbook, not a CSV file."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file."),
        (f'{HEADER}\r\n"Mei Lin"x,2025-01,100,,\r\n'.encode(), "The file could not be read as CSV (line 2:"),
    ],
    ids=[
        "empty",
        "only-bom",
        "header-only",
        "missing-columns",
        "no-header",
        "unknown-column",
        "latin-1",
        "utf-16",
        "xlsx",
        "binary",
        "bad-quoting",
    ],
)
def test_a_file_that_cannot_be_read_gets_one_clear_message(people, content, message):
    error = only_error(run(content))
    assert error.row is None
    assert error.message.startswith(message), error.message
    nothing_imported()


def test_an_oversize_file_is_refused(people):
    row = f"Mei Lin,{MONTH},1000,200,,{'x' * 150}\r\n"
    content = HEADER + "\r\n" + row * (MAX_BYTES // len(row) + 1)
    assert len(content.encode()) > MAX_BYTES
    error = only_error(run(content))
    assert error.message.startswith("The file is larger than 2 MB.")
    nothing_imported()


def test_a_file_with_more_than_5000_rows_is_refused(people):
    content = lines(*[f"Mei Lin,{MONTH},1,,"] * (MAX_ROWS + 1))
    assert len(content.encode()) < MAX_BYTES
    error = only_error(run(content))
    assert error.message.startswith("The file has 5,001 rows of pay records; at most 5,000 can be imported")
    nothing_imported()


# --- Amounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("1234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1.234.567,8", "1234567.80"),
        ("1,234,567", "1234567.00"),
        ("1 234,56", "1234.56"),
        ("0,5", "0.50"),
        ("42", "42.00"),
        ("", "0.00"),
        ("  ", "0.00"),
    ],
)
def test_amounts_in_english_and_german_notation(raw, amount):
    assert amount_parse(raw) == Decimal(amount)


@pytest.mark.parametrize(
    "raw", ["1.234", "1,234", "12.345", "0.125", "1234.567", "-1", "1.23,45", "12.", "x"]
)
def test_ambiguous_or_invalid_amounts_are_refused(raw):
    from grants.pay_import import _AmountRefused

    with pytest.raises(_AmountRefused):
        amount_parse(raw)


# --- The admin screen -------------------------------------------------------------------------------


def test_finance_sees_the_import_screen(finance_client):
    response = finance_client.get(IMPORT_URL)
    assert response.status_code == 200
    assert b'type="file"' in response.content
    assert TEMPLATE_URL.encode() in response.content


def test_the_menu_shows_the_import_to_finance(finance_client):
    assert "Import pay (CSV)" in finance_client.get("/admin/").content.decode()


def test_the_menu_hides_the_import_from_editors(editor_client):
    assert "Import pay (CSV)" not in editor_client.get("/admin/").content.decode()


def test_finance_upload_with_a_bad_row_shows_the_problems_and_imports_nothing(finance_client, people):
    content = lines(f"Mei Lin,{MONTH},1000,200,", f"Ana Pereira,{MONTH},3000,,")
    response = finance_client.post(IMPORT_URL, {"file": csv_file(content)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "<td>3</td>" in page
    assert "gross_salary" in page
    assert "is a freelancer, so enter the invoice amount in freelancer_invoice, not a salary." in page
    nothing_imported()


def test_finance_upload_of_an_unreadable_file_shows_one_message(finance_client, people):
    response = finance_client.post(IMPORT_URL, {"file": csv_file(b"PK\x03\x04workbook", name="pay.xlsx")})
    assert response.status_code == 200
    assert "This is an Excel workbook, not a CSV file." in response.content.decode()
    nothing_imported()


def test_finance_upload_without_a_file_is_asked_for_one(finance_client):
    response = finance_client.post(IMPORT_URL, {})
    assert response.status_code == 400
    assert "Choose the CSV file with the pay records." in response.content.decode()


def test_finance_upload_of_a_good_file_imports_and_says_how_much(finance_client, people):
    content = lines(f"Mei Lin,{MONTH},4000.00,840.00,", f"Ana Pereira,{MONTH},,,2500.50")
    response = finance_client.post(IMPORT_URL, {"file": csv_file(content)}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 pay records imported and posted, €7,340.50 in all." in page
    assert PayRecord.objects.count() == 2
    assert Transaction.objects.count() == 2


def test_the_template_lists_last_months_people_without_pay(finance_client, people):
    PayRecordFactory(person=people["mei"], month=LAST_MONTH)
    PersonFactory(
        name="Gone Already", start_date=datetime.date(2020, 1, 1), end_date=datetime.date(2021, 6, 30)
    )
    response = finance_client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = body.decode("utf-8-sig").splitlines()
    assert rows[0] == HEADER
    assert rows[1:] == [
        f"Ana Pereira,{MONTH},,,,",
        f"Jonas Weber,{MONTH},,,,",
        f"Sam Okafor,{MONTH},,,,",
    ]
    semicolons = finance_client.get(TEMPLATE_URL + "?separator=semicolon").content.decode("utf-8-sig")
    assert semicolons.splitlines()[0] == HEADER.replace(",", ";")


def test_a_filled_in_template_imports(finance_client, people):
    template = finance_client.get(TEMPLATE_URL).content.decode("utf-8-sig").splitlines()
    filled = [template[0]]
    for line in template[1:]:
        name, month = line.split(",")[:2]
        kind = next(person.kind for person in people.values() if person.name == name)
        amounts = "1000,200,," if kind == Person.Kind.EMPLOYEE else ",,900,"
        filled.append(f"{name},{month},{amounts}")
    assert run("\r\n".join(filled)).imported
    assert PayRecord.objects.count() == 4


@pytest.mark.parametrize("url", [IMPORT_URL, TEMPLATE_URL])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", [IMPORT_URL, TEMPLATE_URL])
@pytest.mark.parametrize(
    ("roles", "mfa"),
    [(("patron",), True), (("patron", "editor"), True), (("patron", "finance"), False)],
    ids=["patron", "editor", "finance-without-mfa"],
)
def test_other_roles_get_no_import_screen(client, make_user, people, url, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))
    response = client.get(url)
    assert response.status_code in (302, 403)
    assert b"Ana Pereira" not in response.content


def test_an_editor_cannot_upload(editor_client, people):
    response = editor_client.post(IMPORT_URL, {"file": csv_file(lines(f"Mei Lin,{MONTH},1000,200,"))})
    assert response.status_code in (302, 403)
    nothing_imported()


def test_the_examples_in_the_documentation_import(people):
    PersonFactory(name="Mei Lin", email="mei.lin@commons.example.org", start_date=datetime.date(2020, 1, 1))
    Person.objects.filter(name="Mei Lin", email="").delete()
    text = (Path(settings.BASE_DIR) / "docs" / "grants-pay-import.md").read_text()
    examples = [block.split("```", 1)[0] for block in text.split("```csv\n")[1:]]
    assert len(examples) == 2
    for example in examples:
        with transaction.atomic():
            result = run(example)
            assert result.imported, [str(error) for error in result.errors]
            assert (result.count, result.total) == (3, Decimal("12793.50"))
            assert Transaction.objects.count() == 3
            transaction.set_rollback(True)  # the second example imports the same pay again
