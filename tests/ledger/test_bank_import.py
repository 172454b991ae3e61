"""Bank statements: CAMT.053 and MT940 read strictly, imported all or nothing and once, lines matched to open
sponsor invoices, milestones and bills, confirmed by finance, or booked by hand to an account."""

from __future__ import annotations

import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ledger.bank import BankLineRefused, line_book_account, line_book_match, line_matches, statement_import
from ledger.bank_parsers import StatementError, statement_parse
from ledger.models import Account, BankLine, BankStatement, CostCentre, Posting, Transaction
from ledger.querysets import month_start
from ledger.services import PostingLine, ledger_month_close, transaction_post

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
CAMT02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
CAMT08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def today() -> datetime.date:
    return timezone.localdate()


# --- Statement builders (what a German bank exports) ----------------------------------------------


def entry(
    amount: str,
    *,
    credit: bool = True,
    day: datetime.date | None = None,
    name: str = "Example Hosting GmbH",
    iban: str = "DE02120300000000202051",
    text: str = "",
    e2e: str = "NOTPROVIDED",
    ref: str = "",
    currency: str = "EUR",
    status: str = "BOOK",
    batch: list[dict] | None = None,
) -> dict:
    return {
        "amount": amount,
        "credit": credit,
        "day": day or today(),
        "name": name,
        "iban": iban,
        "text": text,
        "e2e": e2e,
        "ref": ref,
        "currency": currency,
        "status": status,
        "batch": batch,
    }


def _signed(item: dict) -> Decimal:
    value = Decimal(item["amount"].replace(",", "."))
    return value if item["credit"] else -value


def _camt_party(item: dict, version: str) -> str:
    role = "Dbtr" if item["credit"] else "Cdtr"
    name = escape(item["name"])
    party = (
        f"<{role}><Nm>{name}</Nm></{role}>"
        if version == "02"
        else f"<{role}><Pty><Nm>{name}</Nm></Pty></{role}>"
    )
    return f"<RltdPties>{party}<{role}Acct><Id><IBAN>{item['iban']}</IBAN></Id></{role}Acct></RltdPties>"


def _camt_tx(item: dict, version: str) -> str:
    amount = (
        f'<Amt Ccy="{item["currency"]}">{item["amount"]}</Amt>'
        if version == "08"
        else (f'<AmtDtls><TxAmt><Amt Ccy="{item["currency"]}">{item["amount"]}</Amt></TxAmt></AmtDtls>')
    )
    return (
        f"<TxDtls><Refs><EndToEndId>{escape(item['e2e'])}</EndToEndId></Refs>{amount}"
        f"{_camt_party(item, version)}<RmtInf><Ustrd>{escape(item['text'])}</Ustrd></RmtInf></TxDtls>"
    )


def camt053(
    entries: list[dict],
    *,
    version: str = "02",
    statement_id: str = "STMT-2026-11-001",
    iban: str = IBAN,
    opening: str = "10000.00",
    closing: str | None = None,
    from_date: datetime.date | None = None,
    to_date: datetime.date | None = None,
) -> bytes:
    namespace = CAMT02 if version == "02" else CAMT08
    booked = [item for item in entries if item["status"] == "BOOK"]
    closing = closing or f"{Decimal(opening) + sum((_signed(item) for item in booked), Decimal('0')):.2f}"
    from_date = from_date or today() - datetime.timedelta(days=3)
    to_date = to_date or today()
    status = (lambda s: f"<Sts>{s}</Sts>") if version == "02" else (lambda s: f"<Sts><Cd>{s}</Cd></Sts>")
    xml_entries = []
    for number, item in enumerate(entries, start=1):
        ref = item["ref"] or f"BANKREF-{number:04d}"
        details = "".join(_camt_tx(part, version) for part in (item["batch"] or [item]))
        xml_entries.append(
            f'<Ntry><Amt Ccy="{item["currency"]}">{item["amount"]}</Amt>'
            f"<CdtDbtInd>{'CRDT' if item['credit'] else 'DBIT'}</CdtDbtInd>{status(item['status'])}"
            f"<BookgDt><Dt>{item['day'].isoformat()}</Dt></BookgDt><ValDt><Dt>{item['day'].isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
            f"<BkTxCd><Prtry><Cd>NTRF+166</Cd><Issr>DK</Issr></Prtry></BkTxCd>"
            f"<NtryDtls>{details}</NtryDtls><AddtlNtryInf>SEPA-Überweisung</AddtlNtryInf></Ntry>"
        )

    def balance(code: str, amount: str, day: datetime.date) -> str:
        sign = "CRDT" if Decimal(amount) >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(Decimal(amount)):.2f}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>'
        )

    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>{to_date}T18:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>42</ElctrncSeqNb>"
        f"<CreDtTm>{to_date}T18:00:00+01:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{from_date}T00:00:00+01:00</FrDtTm><ToDtTm>{to_date}T23:59:59+01:00</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy><Svcr><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></Svcr></Acct>"
        f"{balance('PRCD', opening, from_date)}{balance('CLBD', closing, to_date)}"
        f"{''.join(xml_entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def mt940(lines: list[tuple[str, str]], *, opening: str = "12500,00", closing: str = "13440,00") -> bytes:
    """``lines``: (:61: value, :86: value) pairs after a German bank's header."""
    day = today()
    body = "".join(f":61:{entry_line}\r\n:86:{details}\r\n" for entry_line, details in lines)
    return (
        f":20:STARTUMSE\r\n:25:37040044/0532013000\r\n:28C:00042/001\r\n"
        f":60F:C{(day - datetime.timedelta(days=2)):%y%m%d}EUR{opening}\r\n"
        f"{body}:62F:C{day:%y%m%d}EUR{closing}\r\n-\r\n"
    ).encode("latin-1")


def upload(client, content: bytes, *, name: str = "statement.xml", auto_book: bool = False):
    data = {"statement": SimpleUploadedFile(name, content, content_type="application/octet-stream")}
    if auto_book:
        data["auto_book"] = "on"
    return client.post(reverse("ledger_bankstatement:import"), data, follow=True)


def page_text(response) -> str:
    return response.content.decode()


def bank_moves(transaction: Transaction) -> dict[tuple[str, str], Decimal]:
    return {
        (posting.account.code, posting.cost_centre.code): posting.amount
        for posting in transaction.postings.select_related("account", "cost_centre")
    }


# --- Domain objects -------------------------------------------------------------------------------


@pytest.fixture
def open_invoice(db):
    from sponsors import services
    from tests.factories.sponsors import PackageFactory, SponsorshipFactory

    sponsorship = services.sponsorship_approve(
        sponsorship=SponsorshipFactory(package=PackageFactory(), status="submitted"), by=None
    )
    return sponsorship.invoices.get()


@pytest.fixture
def requested_milestone(db):
    from grants.services import milestone_request_issue
    from tests.factories.grants import MilestoneFactory

    milestone = MilestoneFactory(amount=Decimal("12000.00"), grant__reference="NLnet 2026-02-123")
    return milestone_request_issue(milestone=milestone, on=today())


@pytest.fixture
def open_bill(db):
    from grants.services import bill_post
    from tests.factories.grants import BillFactory

    bill = BillFactory(number="R0031337", net_amount=Decimal("840.00"), vat_amount=Decimal("159.60"))
    return bill_post(bill=bill)


# --- Parsing --------------------------------------------------------------------------------------


def test_camt053_001_02_is_read_with_signed_amounts_counterparties_and_texts():
    content = camt053(
        [
            entry("7140.00", name="Example Hosting GmbH", text="Rechnung RS-2026-00001", e2e="E2E-1"),
            entry("250.50", credit=False, name="Hetzner Online GmbH", text="Kd 123 R0031337"),
            entry("99.00", status="PDNG"),
        ],
        opening="1000.00",
    )

    (statement,) = statement_parse(content)

    assert statement.format == "camt053"
    assert statement.account == IBAN
    assert (statement.statement_id, statement.sequence) == ("STMT-2026-11-001", "42")
    assert statement.to_date == today()
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("1000.00"), Decimal("7889.50"))
    incoming, outgoing = statement.lines  # the pending entry is not booked yet: left out
    assert incoming.amount == Decimal("7140.00")
    assert incoming.counterparty_name == "Example Hosting GmbH"
    assert incoming.counterparty_iban == "DE02120300000000202051"
    assert "Rechnung RS-2026-00001" in incoming.remittance_text
    assert incoming.end_to_end_id == "E2E-1"
    assert incoming.bank_reference == "BANKREF-0001"
    assert outgoing.amount == Decimal("-250.50")
    assert outgoing.counterparty_name == "Hetzner Online GmbH"
    assert outgoing.end_to_end_id == ""  # NOTPROVIDED


def test_camt053_001_08_is_read_and_a_batch_entry_becomes_one_line_per_payment():
    batch = [
        entry("100.00", credit=False, name="Freelancer A", text="Invoice 7", e2e="PAY-A"),
        entry("150.00", credit=False, name="Freelancer B", text="Invoice 9", e2e="PAY-B"),
    ]
    content = camt053(
        [
            entry("1200.00", name="NLnet Stichting", text="ZA-2026-00001"),
            entry("250.00", credit=False, name="", text="", batch=batch),
        ],
        version="08",
    )

    (statement,) = statement_parse(content)

    assert [(line.entry, line.amount, line.counterparty_name) for line in statement.lines] == [
        ("1", Decimal("1200.00"), "NLnet Stichting"),
        ("2.1", Decimal("-100.00"), "Freelancer A"),
        ("2.2", Decimal("-150.00"), "Freelancer B"),
    ]
    assert statement.lines[2].end_to_end_id == "PAY-B"


def test_mt940_of_a_german_bank_is_read_with_its_structured_details():
    day = today()
    content = mt940(
        [
            (
                f"{day:%y%m%d}{day:%m%d}C1190,00NTRFNONREF//BANKREF-0001",
                "166?00GUTSCHRIFT?20EREF+E2E-RS-1?21SVWZ+Rechnung RS-2026-0?220001?30COBADEFFXXX"
                "?31DE02120300000000202051?32Müller Webhosting GmbH",
            ),
            (
                f"{day:%y%m%d}{day:%m%d}D250,00NMSCNONREF//BANKREF-0002",
                "177?00UEBERWEISUNG?20SVWZ+Hosting April?31DE02120300000000202051?32Hoster AG",
            ),
        ]
    )

    (statement,) = statement_parse(content)

    assert statement.format == "mt940"
    assert (statement.statement_id, statement.sequence) == ("STARTUMSE", "00042/001")
    assert statement.account == "37040044/0532013000"
    incoming, outgoing = statement.lines
    assert incoming.amount == Decimal("1190.00")
    assert incoming.booking_date == day
    assert incoming.counterparty_name == "Müller Webhosting GmbH"
    assert incoming.counterparty_iban == "DE02120300000000202051"
    assert incoming.end_to_end_id == "E2E-RS-1"
    assert "RS-2026-00001" in incoming.remittance_text
    assert incoming.bank_reference == "BANKREF-0001"
    assert outgoing.amount == Decimal("-250.00")
    assert outgoing.remittance_text == "Hosting April"


def test_an_mt940_statement_imported_twice_is_stored_once():
    day = today()
    content = mt940(
        [
            (f"{day:%y%m%d}{day:%m%d}C1190,00NTRFNONREF//BANKREF-0001", "166?20SVWZ+Spende?32Alex Beispiel"),
            (f"{day:%y%m%d}{day:%m%d}D250,00NMSCNONREF//BANKREF-0002", "177?20SVWZ+Hosting?32Hoster AG"),
        ]
    )

    first = statement_import(content=content, file_name="umsaetze.sta")
    second = statement_import(content=content, file_name="umsaetze.sta")

    assert (first.new_statements, first.new_lines) == (1, 2)
    assert second.nothing_new
    assert second.known_lines == 2
    assert BankLine.objects.count() == 2
    assert sorted(BankLine.objects.values_list("amount", flat=True)) == [
        Decimal("-250.00"),
        Decimal("1190.00"),
    ]


def test_mt940_entry_with_a_garbled_amount_is_refused_with_its_number():
    day = today()
    content = mt940(
        [
            (f"{day:%y%m%d}C1190,00NTRFNONREF//BANKREF-0001", "166?20SVWZ+one"),
            (f"{day:%y%m%d}D25x,00NMSCNONREF//BANKREF-0002", "177?20SVWZ+two"),
        ]
    )

    with pytest.raises(StatementError, match=r"Statement STARTUMSE, entry 2"):
        statement_parse(content)


def test_a_file_that_is_no_statement_is_refused():
    with pytest.raises(StatementError, match="neither a CAMT.053"):
        statement_parse(b"Date;Amount\n2026-11-01;12.00\n")
    with pytest.raises(StatementError, match="not a CAMT.053"):
        statement_parse(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>')


def test_xml_with_entities_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>'

    with pytest.raises(StatementError, match="entities"):
        statement_parse(bomb)


# --- Import: all or nothing, once -----------------------------------------------------------------


def test_statement_with_one_malformed_entry_imports_nothing_and_names_the_entry(finance_client):
    content = camt053(
        [entry("100.00", text="fine"), entry("12,50", text="garbled", ref="REF-BAD"), entry("30.00")],
        closing="10142.50",
    )

    response = upload(finance_client, content)

    assert response.status_code == 400
    text = page_text(response)
    assert "Nothing was imported" in text
    assert "entry 2" in text
    assert "REF-BAD" in text
    assert "“12,50” is not a number" in text
    assert not BankStatement.objects.exists()
    assert not BankLine.objects.exists()
    assert not Transaction.objects.filter(idempotency_key__startswith="bank").exists()


def test_statement_in_another_currency_is_refused():
    content = camt053([entry("100.00", currency="USD")])

    with pytest.raises(StatementError, match="USD; only EUR"):
        statement_import(content=content)
    assert not BankLine.objects.exists()


def test_entries_that_do_not_reach_the_closing_balance_are_refused():
    content = camt053([entry("100.00"), entry("50.00")], opening="1000.00", closing="1100.00")

    with pytest.raises(StatementError, match="add up to 150.00 EUR"):
        statement_import(content=content)
    assert not BankStatement.objects.exists()


def test_the_same_statement_imported_twice_is_stored_and_booked_once(finance_client, open_invoice):
    content = camt053(
        [
            entry(f"{open_invoice.gross_amount}", text=f"Rechnung {open_invoice.number} Danke"),
            entry("35.00", name="Patron", text="Spende"),
        ]
    )

    first = upload(finance_client, content, auto_book=True)
    second = upload(finance_client, content, auto_book=True)

    assert "2 new lines" in page_text(first)
    assert "1 line was booked as an exact match" in page_text(first)
    assert "Already imported, nothing new" in page_text(second)
    assert BankStatement.objects.count() == 1
    assert BankLine.objects.count() == 2
    assert Transaction.objects.filter(idempotency_key=f"sponsors:bank:{open_invoice.number}").count() == 1
    assert Posting.objects.filter(account__code="bank").count() == 1
    open_invoice.refresh_from_db()
    assert open_invoice.status == "paid"


def test_an_overlapping_statement_adds_only_the_new_lines():
    day = today()
    first = camt053(
        [entry("100.00", day=day, text="A"), entry("100.00", day=day, text="A"), entry("20.00", text="B")],
        statement_id="DAY-1",
    )
    month = camt053(
        [
            entry("100.00", day=day, text="A"),
            entry("100.00", day=day, text="A"),
            entry("20.00", text="B"),
            entry("100.00", day=day, text="A"),
            entry("5.00", text="C"),
        ],
        statement_id="MONTH-11",
    )

    statement_import(content=first)
    result = statement_import(content=month)

    assert (result.new_lines, result.known_lines) == (2, 3)
    assert (
        BankLine.objects.filter(amount=Decimal("100.00")).count() == 3
    )  # the third identical payment is new
    assert BankLine.objects.count() == 5


def test_identical_payments_in_one_statement_are_both_kept():
    content = camt053([entry("10.00", text="Spende", ref="SAME"), entry("10.00", text="Spende", ref="SAME")])

    result = statement_import(content=content)

    assert result.new_lines == 2
    assert BankLine.objects.count() == 2


# --- Matching and booking -------------------------------------------------------------------------


def test_sponsor_invoice_number_is_proposed_and_confirmed_marks_the_invoice_paid(
    finance_client, open_invoice
):
    content = camt053(
        [entry(f"{open_invoice.gross_amount}", text=f"Invoice {open_invoice.number.replace('-', ' ')}")]
    )
    upload(finance_client, content)
    line = BankLine.objects.get()
    statement_page = finance_client.get(reverse("ledger_bankstatement:inspect", args=[line.statement_id]))
    assert f"Sponsor invoice {open_invoice.number}" in page_text(statement_page)
    key = f"sponsors:invoice:{open_invoice.number}"

    confirm_page = finance_client.get(reverse("ledger_bankline:confirm", args=[line.pk]))
    response = finance_client.post(
        reverse("ledger_bankline:confirm", args=[line.pk]), {"key": key}, follow=True
    )

    assert confirm_page.status_code == 200
    assert response.status_code == 200
    assert "Booked" in page_text(response)
    open_invoice.refresh_from_db()
    assert open_invoice.status == "paid"
    assert open_invoice.paid_via == "bank"
    line.refresh_from_db()
    gross = open_invoice.gross_amount
    assert bank_moves(line.booked_transaction) == {("bank", "CORE"): gross, ("receivables", "CORE"): -gross}


def test_a_second_confirmation_books_nothing_more(finance_client, open_invoice):
    statement_import(content=camt053([entry(f"{open_invoice.gross_amount}", text=open_invoice.number)]))
    line = BankLine.objects.get()
    url = reverse("ledger_bankline:confirm", args=[line.pk])
    key = f"sponsors:invoice:{open_invoice.number}"

    finance_client.post(url, {"key": key})
    again = finance_client.post(url, {"key": key}, follow=True)

    assert "already booked" in page_text(again)
    assert Posting.objects.filter(account__code="bank").count() == 1


def test_invoice_number_with_another_amount_is_not_proposed(open_invoice):
    statement_import(content=camt053([entry("10.00", text=open_invoice.number)]))

    assert line_matches(BankLine.objects.get()) == []


def test_invoice_marked_paid_by_hand_is_linked_not_booked_again(open_invoice):
    from sponsors.services import invoice_mark_paid

    invoice_mark_paid(invoice=open_invoice, paid_on=today(), reference="seen online", by=None)
    statement_import(content=camt053([entry(f"{open_invoice.gross_amount}", text=open_invoice.number)]))
    line = BankLine.objects.get()
    (match,) = line_matches(line)

    transaction = line_book_match(line=line, key=match.key, by=None)

    assert "already marked paid" in match.description
    assert transaction.idempotency_key == f"sponsors:bank:{open_invoice.number}"
    assert Posting.objects.filter(account__code="bank").count() == 1


def test_milestone_request_number_books_grant_income_on_the_grant(finance_client, requested_milestone):
    milestone = requested_milestone
    content = camt053([entry("12000.00", name="Stichting NLnet", text=f"Payment {milestone.request_number}")])
    statement_import(content=content)
    line = BankLine.objects.get()

    response = finance_client.post(
        reverse("ledger_bankline:confirm", args=[line.pk]), {"key": f"grants:milestone:{milestone.pk}"}
    )

    assert response.status_code == 302
    line.refresh_from_db()
    milestone.refresh_from_db()
    assert milestone.state == "paid"
    assert milestone.payment.amount == Decimal("12000.00")
    assert line.booked_transaction.idempotency_key == f"bank:{line.pk}"
    assert bank_moves(line.booked_transaction) == {
        ("bank", "CORE"): Decimal("12000.00"),
        ("income-grants", milestone.grant.code): Decimal("-12000.00"),
    }


def test_amount_and_grant_reference_find_a_submitted_milestone(requested_milestone):
    statement_import(content=camt053([entry("12000.00", text="NLnet 2026-02-123 milestone 1")]))

    (match,) = line_matches(BankLine.objects.get())

    assert match.key == f"grants:milestone:{requested_milestone.pk}"
    assert match.exact


def test_outgoing_payment_of_a_bill_pays_the_bill(finance_client, open_bill):
    content = camt053([entry("999.60", credit=False, name="Hetzner Online GmbH", text="Rechnung R0031337")])
    statement_import(content=content)
    line = BankLine.objects.get()

    finance_client.post(
        reverse("ledger_bankline:confirm", args=[line.pk]), {"key": f"grants:bill:{open_bill.pk}"}
    )

    open_bill.refresh_from_db()
    line.refresh_from_db()
    assert open_bill.status == "paid"
    assert open_bill.paid_on == today()
    assert bank_moves(line.booked_transaction) == {
        ("payables", "CORE"): Decimal("999.60"),
        ("bank", "CORE"): Decimal("-999.60"),
    }


def test_auto_book_books_exact_matches_only(open_invoice, requested_milestone):
    content = camt053(
        [
            entry(f"{open_invoice.gross_amount}", text=open_invoice.number),
            entry("11000.00", text=requested_milestone.request_number),  # not the milestone's amount
            entry("42.00", text="unknown"),
        ]
    )

    result = statement_import(content=content, auto_book=True)

    assert result.auto_booked == 1
    assert BankLine.objects.open().count() == 2
    (match,) = line_matches(BankLine.objects.get(amount=Decimal("11000.00")))
    assert not match.exact


def test_unmatched_line_is_booked_by_hand_to_an_account_and_cost_centre(finance_client):
    grant_centre = CostCentre.objects.create(code="NGI0-TEST", name="NGI0 test", kind="grant")
    statement_import(
        content=camt053([entry("80.00", credit=False, name="Deutsche Bahn", text="Ticket 4711")])
    )
    line = BankLine.objects.get()
    travel = Account.objects.get(code="expense-other")

    page = finance_client.get(reverse("ledger_bankline:book", args=[line.pk]))
    response = finance_client.post(
        reverse("ledger_bankline:book", args=[line.pk]),
        {"account": travel.pk, "cost_centre": grant_centre.pk, "note": "Train to the NGI review"},
    )

    assert page.status_code == 200
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.booked_transaction.idempotency_key == f"bank:line:{line.pk}"
    assert line.booked_transaction.description == "Train to the NGI review – Deutsche Bahn"
    assert bank_moves(line.booked_transaction) == {
        ("bank", "CORE"): Decimal("-80.00"),
        ("expense-other", "NGI0-TEST"): Decimal("80.00"),
    }


def test_booking_by_hand_needs_a_note_and_keeps_balance_sheet_accounts_on_core(finance_client):
    grant_centre = CostCentre.objects.create(code="NGI0-TEST", name="NGI0 test", kind="grant")
    statement_import(content=camt053([entry("500.00", name="Stripe", text="STRIPE PAYOUT")]))
    line = BankLine.objects.get()
    url = reverse("ledger_bankline:book", args=[line.pk])
    stripe = Account.objects.get(code="stripe")

    no_note = finance_client.post(url, {"account": stripe.pk, "cost_centre": grant_centre.pk, "note": ""})
    on_grant = finance_client.post(
        url, {"account": stripe.pk, "cost_centre": grant_centre.pk, "note": "Payout"}
    )

    assert no_note.status_code == 400
    assert on_grant.status_code == 400
    assert "balance-sheet accounts stays on the core cost centre" in page_text(on_grant)
    assert not Transaction.objects.exists()


def test_line_in_a_closed_month_is_booked_on_the_first_open_day():
    last_month = month_start(month_start(today()) - datetime.timedelta(days=1))
    transaction_post(
        booking_date=last_month,
        description="Opening",
        idempotency_key="test:opening",
        lines=[PostingLine("bank", Decimal("100.00")), PostingLine("opening-balances", Decimal("-100.00"))],
    )
    ledger_month_close(month=last_month)
    day = last_month + datetime.timedelta(days=4)
    statement_import(
        content=camt053([entry("12.00", day=day, text="fee")], from_date=last_month, to_date=day)
    )
    line = BankLine.objects.get()

    transaction = line_book_account(
        line=line,
        account=Account.objects.get(code="expense-payment-fees"),
        cost_centre=CostCentre.objects.get(code="CORE"),
        note="Account fee",
        by=None,
    )

    assert transaction.booking_date == month_start(today())
    assert f"dated {day.isoformat()}" in transaction.source_reference


def test_a_line_is_never_booked_to_the_bank_account_itself():
    statement_import(content=camt053([entry("12.00", text="x")]))

    with pytest.raises(BankLineRefused, match="not the bank account"):
        line_book_account(
            line=BankLine.objects.get(),
            account=Account.objects.get(code="bank"),
            cost_centre=CostCentre.objects.get(code="CORE"),
            note="x",
            by=None,
        )


# --- Access ---------------------------------------------------------------------------------------


@pytest.fixture
def bank_urls(db):
    statement_import(content=camt053([entry("20.00", text="Spende")]))
    line = BankLine.objects.get()
    return [
        reverse("ledger_bankstatement:index"),
        reverse("ledger_bankstatement:index") + "?export=csv",
        reverse("ledger_bankstatement:import"),
        reverse("ledger_bankstatement:inspect", args=[line.statement_id]),
        reverse("ledger_bankline:index"),
        reverse("ledger_bankline:index") + "?state=open",
        reverse("ledger_bankline:index") + "?export=csv",
        reverse("ledger_bankline:inspect", args=[line.pk]),
        reverse("ledger_bankline:book", args=[line.pk]),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, bank_urls):
    for url in bank_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize(
    ("roles", "mfa"),
    [
        (("patron",), True),
        (("patron", "sponsor contact"), True),
        (("patron", "editor"), True),
        (("patron", "editor"), False),
        (("patron", "finance"), False),
    ],
    ids=["patron", "sponsor-contact", "editor-with-mfa", "editor-without-mfa", "finance-without-mfa"],
)
def test_other_roles_see_no_bank_page_and_book_nothing(client, make_user, bank_urls, roles, mfa):
    client.force_login(make_user(*roles, mfa=mfa))
    line = BankLine.objects.get()

    for url in bank_urls:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert b"Spende" not in response.content
    booked = client.post(
        reverse("ledger_bankline:book", args=[line.pk]),
        {"account": Account.objects.get(code="income-donations").pk, "cost_centre": 1, "note": "x"},
    )
    uploaded = client.post(
        reverse("ledger_bankstatement:import"),
        {"statement": SimpleUploadedFile("s.xml", camt053([entry("1.00")], statement_id="OTHER"))},
    )

    assert booked.status_code in (302, 403)
    assert uploaded.status_code in (302, 403)
    assert not Transaction.objects.exists()
    assert BankStatement.objects.count() == 1


def test_finance_with_mfa_opens_every_bank_page(finance_client, bank_urls):
    for url in bank_urls:
        assert finance_client.get(url).status_code == 200, url


def test_a_line_the_books_already_hold_is_linked_not_booked_again(db, make_user):
    """A Stripe payout is booked from Stripe's event; its bank line links to that booking."""
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from ledger import bank
    from ledger.bank_models import BankLine, BankStatement
    from ledger.models import Posting
    from ledger.services import PostingLine, transaction_post

    today = timezone.localdate()
    payout = transaction_post(
        booking_date=today - datetime.timedelta(days=1),
        description="Stripe payout po_1",
        idempotency_key="stripe:payout:po_1",
        lines=[PostingLine("bank", Decimal("1234.56")), PostingLine("stripe", Decimal("-1234.56"))],
    )
    statement = BankStatement.objects.create(
        account="DE89370400440532013000", statement_id="S-9", from_date=today, to_date=today, format="camt053"
    )
    line = BankLine.objects.create(
        statement=statement,
        account=statement.account,
        fingerprint="payout",
        position=1,
        entry="1",
        booking_date=today,
        amount=Decimal("1234.56"),
        remittance_text="STRIPE PAYOUT",
    )
    (match,) = [m for m in bank.line_matches(line) if m.key.startswith("ledger:transaction:")]
    assert bank.line_book_match(line=line, key=match.key, by=make_user("finance", mfa=True)) == payout
    assert Posting.objects.filter(account__code="bank").count() == 1  # nothing booked twice
