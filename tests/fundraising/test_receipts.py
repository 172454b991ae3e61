"""Donation receipts: only donations, each in exactly one receipt, gap-free numbers, the BMF template
(checked on the PDF's text), the annual collective receipt, the January run, refusal when the tax status
is too old, and who may download what."""

import datetime
import io
import re
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from wagtail.models import Site

import fundraising.receipt_admin  # noqa: F401  (registers the finance screens, as wagtail_hooks does)
from cms.models import OrganisationSettings
from fundraising import emails
from fundraising.models import DonationReceipt, Interval, Kind, Payment, ReceiptBatch, Refund
from fundraising.receipts import (
    ReceiptRefused,
    amount_in_words,
    receipt_batch_run,
    receipt_issue_annual,
    receipt_issue_single,
    receipt_refusal_reason,
)
from tests.factories.fundraising import PatronageFactory, PatronFactory, PaymentFactory, TierFactory

TODAY = timezone.localdate()
PURPOSES = "der Bildung sowie der Wissenschaft und Forschung"


# --- Set-up ------------------------------------------------------------------------------------
@pytest.fixture
def organisation(db, settings):
    settings.DONATION_RECEIPT_PURPOSES = PURPOSES
    organisation = OrganisationSettings.for_site(Site.objects.get(is_default_site=True))
    values = {
        "legal_name": "Fediverse Commons gGmbH",
        "street": "Oranienstraße 183",
        "postcode": "10999",
        "city": "Berlin",
        "country": "DE",
        "tax_office": "Finanzamt für Körperschaften I Berlin",
        "tax_number": "27/123/45678",
        "exemption_notice_date": TODAY - datetime.timedelta(days=400),
        "exemption_period_start_year": 2021,
        "exemption_period_end_year": 2023,
    }
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.save()
    return organisation


def one_time_donation(amount="50.00", *, patron=None, paid_at=None, **fields):
    patron = patron or PatronFactory(
        name="Erika Mustermann", address_line1="Heidestraße 17", postal_code="51147", city="Köln"
    )
    patronage = PatronageFactory(
        patron=patron,
        tier=None,
        kind=Kind.DONATION,
        interval=Interval.ONCE,
        amount=Decimal(amount),
        status="paid",
        stripe_subscription_id=None,
    )
    return PaymentFactory(patronage=patronage, paid_at=paid_at or timezone.now(), **fields)


def monthly_payment(patronage, day: datetime.date, amount: str, **fields):
    paid_at = timezone.make_aware(datetime.datetime(day.year, day.month, day.day, 10, 0))
    return PaymentFactory(patronage=patronage, amount=Decimal(amount), paid_at=paid_at, **fields)


def monthly_donor(**patron_fields):
    patron = PatronFactory(**patron_fields)
    return PatronageFactory(patron=patron, tier=TierFactory(donation=True), interval=Interval.MONTH)


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text with the line breaks of the layout folded into single spaces."""
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")  # opens without a password; the owner password only guards against editing
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def stored_pdf(receipt) -> bytes:
    receipt.refresh_from_db()
    with receipt.pdf.open("rb") as file:
        return file.read()


def assert_in_order(text: str, fields: list[str]) -> None:
    position = 0
    for field in fields:
        found = text.find(field, position)
        assert found >= 0, f"{field!r} missing after position {position} in: {text}"
        position = found + len(field)


def issue_single(payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return receipt_issue_single(payment=payment)


# --- Amount in words ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1", "ein Euro"),
        ("21", "einundzwanzig Euro"),
        ("101", "einhundertein Euro"),
        ("1000.50", "eintausend Euro und fünfzig Cent"),
        (
            "123456.78",
            "einhundertdreiundzwanzigtausendvierhundertsechsundfünfzig Euro und achtundsiebzig Cent",
        ),
        ("0.01", "ein Cent"),
        ("2.00", "zwei Euro"),
    ],
)
def test_amount_is_written_in_german_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


# --- The single receipt ------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "digits", "words"),
    [
        ("1.00", "1,00 €", "ein Euro"),
        ("21.00", "21,00 €", "einundzwanzig Euro"),
        ("101.00", "101,00 €", "einhundertein Euro"),
        ("1000.50", "1.000,50 €", "eintausend Euro und fünfzig Cent"),
        (
            "123456.78",
            "123.456,78 €",
            "einhundertdreiundzwanzigtausendvierhundertsechsundfünfzig Euro und achtundsiebzig Cent",
        ),
    ],
)
def test_single_receipt_pdf_has_every_bmf_field_in_order(
    organisation, django_capture_on_commit_callbacks, amount, digits, words
):
    paid_at = timezone.make_aware(datetime.datetime(TODAY.year, TODAY.month, 1, 9, 30))
    payment = one_time_donation(amount, paid_at=paid_at)
    receipt = issue_single(payment, django_capture_on_commit_callbacks)

    pages = pdf_pages(stored_pdf(receipt))

    assert len(pages) == 1, "the receipt is one A4 page"
    notice_date = organisation.exemption_notice_date.strftime("%d.%m.%Y")
    assert_in_order(
        pages[0],
        [
            "Aussteller (Bezeichnung und Anschrift der steuerbegünstigten Einrichtung)",
            "Fediverse Commons gGmbH",
            "Oranienstraße 183",
            "10999 Berlin",
            "Bestätigung über Geldzuwendungen",
            "im Sinne des § 10b des Einkommensteuergesetzes an eine der in § 5 Abs. 1 Nr. 9 des "
            "Körperschaftsteuergesetzes bezeichneten Körperschaften, Personenvereinigungen oder Vermögensmassen",
            "Name und Anschrift des Zuwendenden:",
            "Erika Mustermann",
            "Heidestraße 17",
            "51147 Köln",
            "Betrag der Zuwendung - in Ziffern -",
            digits,
            "- in Buchstaben -",
            f"– {words} –",
            "Tag der Zuwendung:",
            paid_at.strftime("%d.%m.%Y"),
            "Es handelt sich um den Verzicht auf Erstattung von Aufwendungen: Ja ☐ Nein ☒",
            f"☒ Wir sind wegen Förderung {PURPOSES} nach dem Freistellungsbescheid bzw. nach der Anlage zum "
            "Körperschaftsteuerbescheid des Finanzamtes für Körperschaften I Berlin StNr. 27/123/45678 "
            f"vom {notice_date} für den letzten Veranlagungszeitraum 2021–2023 nach § 5 Abs. 1 Nr. 9 des "
            "Körperschaftsteuergesetzes von der Körperschaftsteuer und nach § 3 Nr. 6 des Gewerbesteuergesetzes "
            "von der Gewerbesteuer befreit.",
            f"Es wird bestätigt, dass die Zuwendung nur zur Förderung {PURPOSES} verwendet wird.",
            f"Berlin, {TODAY.strftime('%d.%m.%Y')}",
            "(Ort, Datum und Unterschrift des Zuwendungsempfängers)",
            "Diese Zuwendungsbestätigung wurde maschinell erstellt und ist ohne Unterschrift gültig.",
            "Das maschinelle Verfahren wurde dem Finanzamt für Körperschaften I Berlin angezeigt.",
            "Hinweis:",
            "Wer vorsätzlich oder grob fahrlässig eine unrichtige Zuwendungsbestätigung erstellt oder veranlasst, "
            "dass Zuwendungen nicht zu den in der Zuwendungsbestätigung angegebenen steuerbegünstigten Zwecken "
            "verwendet werden, haftet für die entgangene Steuer (§ 10b Abs. 4 EStG, § 9 Abs. 3 KStG, § 9 Nr. 5 GewStG).",
            "Diese Bestätigung wird nicht als Nachweis für die steuerliche Berücksichtigung der Zuwendung anerkannt, "
            "wenn das Datum des Freistellungsbescheides länger als 5 Jahre bzw. das Datum der Feststellung der "
            "Einhaltung der satzungsmäßigen Voraussetzungen nach § 60a Abs. 1 AO länger als 3 Jahre seit "
            "Ausstellung des Bescheides zurückliegt (§ 63 Abs. 5 AO).",
        ],
    )
    assert receipt.number in pages[0]
    assert "Sammelbestätigung" not in pages[0]


@pytest.mark.django_db
def test_single_receipt_keeps_a_copy_with_snapshot_and_retention(
    organisation, django_capture_on_commit_callbacks
):
    payment = one_time_donation("25.00")
    receipt = issue_single(payment, django_capture_on_commit_callbacks)
    payment.patron.address_line1 = "Neue Straße 5"
    payment.patron.save()

    receipt.refresh_from_db()
    payment.refresh_from_db()
    assert payment.receipt == receipt
    assert receipt.kind == DonationReceipt.Kind.SINGLE
    assert receipt.total == Decimal("25.00")
    assert receipt.donor_name == "Erika Mustermann"
    assert receipt.donor_address == "Heidestraße 17\n51147 Köln"
    assert receipt.retain_until == datetime.date(TODAY.year + 8, 12, 31)
    assert receipt.pdf.name.endswith(f"{receipt.number}.pdf")
    assert receipt.pdf.storage.exists(receipt.pdf.name)


@pytest.mark.django_db
def test_receipt_is_protected_against_editing(organisation, django_capture_on_commit_callbacks):
    receipt = issue_single(one_time_donation("30.00"), django_capture_on_commit_callbacks)

    reader = PdfReader(io.BytesIO(stored_pdf(receipt)))

    assert reader.is_encrypted
    assert reader.decrypt("") != 0  # anyone may open and print it


@pytest.mark.django_db
def test_donation_in_dollars_is_receipted_in_euros_less_partial_refunds(
    organisation, django_capture_on_commit_callbacks
):
    payment = one_time_donation("100.00", currency="usd", amount_eur=Decimal("92.40"))
    Refund.objects.create(
        stripe_refund_id="re_1",
        payment=payment,
        amount=Decimal("10.00"),
        amount_eur=Decimal("9.24"),
        created=timezone.now(),
    )
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.PARTIALLY_REFUNDED, refunded_amount=Decimal("10.00")
    )

    receipt = issue_single(payment, django_capture_on_commit_callbacks)

    assert receipt.total == Decimal("83.16")
    assert "83,16 €" in pdf_pages(stored_pdf(receipt))[0]


# --- Numbers -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_receipt_numbers_are_gap_free_and_unique_when_an_issue_rolls_back(organisation):
    first = receipt_issue_single(payment=one_time_donation("10.00"))
    failing = one_time_donation("20.00")
    with pytest.raises(RuntimeError), transaction.atomic():
        receipt_issue_single(payment=failing)
        raise RuntimeError("the storage is full")  # something after the issue fails: all of it rolls back
    failing.refresh_from_db()
    assert failing.receipt is None
    second = receipt_issue_single(payment=failing)
    third = receipt_issue_single(payment=one_time_donation("30.00"))

    numbers = [first.number, second.number, third.number]
    assert numbers == [f"ZB-{TODAY.year}-00001", f"ZB-{TODAY.year}-00002", f"ZB-{TODAY.year}-00003"]
    assert DonationReceipt.objects.count() == 3


@pytest.mark.django_db
def test_refused_issue_uses_no_number(organisation):
    perk_payment = PaymentFactory(patronage=PatronageFactory(tier=TierFactory(), interval=Interval.ONCE))
    with pytest.raises(ReceiptRefused):
        receipt_issue_single(payment=perk_payment)

    receipt = receipt_issue_single(payment=one_time_donation())

    assert receipt.number == f"ZB-{TODAY.year}-00001"


# --- Refusals ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_perk_tier_payment_never_gets_a_receipt(organisation):
    payment = PaymentFactory(patronage=PatronageFactory(tier=TierFactory(), interval=Interval.ONCE))
    assert payment.kind == Kind.PERK

    with pytest.raises(ReceiptRefused, match="perks"):
        receipt_issue_single(payment=payment)

    assert not DonationReceipt.objects.exists()


@pytest.mark.django_db
def test_database_refuses_a_receipt_on_a_perk_payment(organisation):
    receipt = receipt_issue_single(payment=one_time_donation())
    perk_payment = PaymentFactory(patronage=PatronageFactory(tier=TierFactory()))

    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=perk_payment.pk).update(receipt=receipt)


@pytest.mark.django_db
def test_payment_is_never_in_two_receipts(organisation):
    payment = one_time_donation()
    receipt = receipt_issue_single(payment=payment)

    with pytest.raises(ReceiptRefused, match=receipt.number):
        receipt_issue_single(payment=payment)

    assert list(Payment.objects.filter(receipt__isnull=False)) == [payment]
    assert DonationReceipt.objects.count() == 1


@pytest.mark.django_db
def test_recurring_donation_is_not_receipted_on_its_own(organisation):
    patronage = monthly_donor()
    payment = monthly_payment(patronage, TODAY, "10.00")

    with pytest.raises(ReceiptRefused, match="annual"):
        receipt_issue_single(payment=payment)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Payment.Status.REFUNDED, Payment.Status.DISPUTE_LOST])
def test_refunded_or_lost_payment_gets_no_receipt(organisation, status):
    payment = one_time_donation(status=status)

    with pytest.raises(ReceiptRefused):
        receipt_issue_single(payment=payment)


@pytest.mark.django_db
def test_patron_without_postal_address_gets_no_receipt(organisation):
    payment = one_time_donation(patron=PatronFactory(name="Erika Mustermann", address_line1="", city=""))

    with pytest.raises(ReceiptRefused, match="postal address"):
        receipt_issue_single(payment=payment)


@pytest.mark.django_db
def test_exemption_notice_six_years_old_refuses_receipts(organisation):
    organisation.exemption_notice_date = TODAY.replace(year=TODAY.year - 6)
    organisation.save()

    reason = receipt_refusal_reason()

    assert reason is not None
    assert organisation.exemption_notice_date.strftime("%d.%m.%Y") in reason
    assert "more than five years old" in reason
    with pytest.raises(ReceiptRefused, match="§ 63"):
        receipt_issue_single(payment=one_time_donation())
    assert not DonationReceipt.objects.exists()


@pytest.mark.django_db
def test_exemption_notice_just_under_five_years_old_allows_receipts(organisation):
    organisation.exemption_notice_date = TODAY.replace(year=TODAY.year - 5) + datetime.timedelta(days=1)
    organisation.save()

    assert receipt_refusal_reason() is None


@pytest.mark.django_db
def test_section_60a_determination_four_calendar_years_old_refuses_receipts(organisation):
    organisation.exemption_notice_date = None
    organisation.exemption_period_start_year = organisation.exemption_period_end_year = None
    organisation.section_60a_determination_date = datetime.date(TODAY.year - 4, 12, 31)
    organisation.save()

    reason = receipt_refusal_reason()

    assert reason is not None
    assert "more than three calendar years old" in reason
    assert f"31.12.{TODAY.year - 1}" in reason  # the last day receipts were allowed


@pytest.mark.django_db
def test_section_60a_determination_three_calendar_years_old_is_printed(
    organisation, django_capture_on_commit_callbacks
):
    organisation.exemption_notice_date = None
    organisation.exemption_period_start_year = organisation.exemption_period_end_year = None
    organisation.section_60a_determination_date = datetime.date(TODAY.year - 3, 1, 2)
    organisation.save()
    assert receipt_refusal_reason() is None

    receipt = issue_single(one_time_donation(), django_capture_on_commit_callbacks)

    text = pdf_pages(stored_pdf(receipt))[0]
    assert (
        "☒ Die Einhaltung der satzungsmäßigen Voraussetzungen nach den §§ 51, 59, 60 und 61 AO wurde vom Finanzamt "
        f"für Körperschaften I Berlin StNr. 27/123/45678 mit Bescheid vom 02.01.{TODAY.year - 3} nach "
        f"§ 60a AO gesondert festgestellt. Wir fördern nach unserer Satzung: Förderung {PURPOSES}."
    ) in text
    assert "Freistellungsbescheid bzw." not in text


@pytest.mark.django_db
def test_no_exemption_date_at_all_refuses_receipts(organisation):
    organisation.exemption_notice_date = None
    organisation.exemption_period_start_year = organisation.exemption_period_end_year = None
    organisation.save()

    assert "no exemption notice" in receipt_refusal_reason()


# --- The annual collective receipt -------------------------------------------------------------
@pytest.mark.django_db
def test_annual_receipt_lists_each_donation_and_the_annex_adds_up(
    organisation, django_capture_on_commit_callbacks
):
    year = TODAY.year - 1
    patronage = monthly_donor(
        name="Max Mustermann", address_line1="Am Markt 3", postal_code="28195", city="Bremen"
    )
    amounts = ["10.00", "10.00", "12.50", "12.50", "7.35", "100.00"]
    for month, amount in enumerate(amounts, start=1):
        monthly_payment(patronage, datetime.date(year, month, 3), amount)
    monthly_payment(patronage, datetime.date(year, 7, 3), "10.00", status=Payment.Status.REFUNDED)
    monthly_payment(patronage, datetime.date(year - 1, 12, 3), "10.00")  # another year
    monthly_payment(patronage, datetime.date(year + 1, 1, 3), "10.00")  # another year
    one_time = one_time_donation("40.00", patron=patronage.patron)  # has its own receipt
    perks = PatronageFactory(patron=patronage.patron, tier=TierFactory(), interval=Interval.MONTH)
    monthly_payment(perks, datetime.date(year, 3, 3), "5.00")  # a sale
    expected_total = sum(Decimal(amount) for amount in amounts)

    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipt_issue_annual(patron=patronage.patron, year=year)

    assert receipt.kind == DonationReceipt.Kind.ANNUAL
    assert receipt.total == expected_total == Decimal("152.35")
    assert (receipt.period_start, receipt.period_end) == (
        datetime.date(year, 1, 1),
        datetime.date(year, 12, 31),
    )
    assert receipt.payments.count() == len(amounts)
    one_time.refresh_from_db()
    assert one_time.receipt is None
    main, annex = pdf_pages(stored_pdf(receipt))
    assert_in_order(
        main,
        [
            "Sammelbestätigung über Geldzuwendungen",
            "Max Mustermann",
            "Gesamtbetrag der Zuwendung - in Ziffern -",
            "152,35 €",
            "– einhundertzweiundfünfzig Euro und fünfunddreißig Cent –",
            "Zeitraum der Sammelbestätigung:",
            f"01.01.{year} – 31.12.{year}",
            "Wir sind wegen Förderung",
            "Es wird bestätigt, dass die Zuwendung nur zur Förderung",
            "Es wird bestätigt, dass über die in der Gesamtsumme enthaltenen Zuwendungen keine weiteren "
            "Bestätigungen, weder formelle Zuwendungsbestätigungen noch Beitragsquittungen oder ähnliches "
            "ausgestellt wurden und werden.",
            "Ob es sich um den Verzicht auf Erstattung von Aufwendungen handelt, ist der Anlage zur "
            "Sammelbestätigung zu entnehmen.",
            "Hinweis:",
        ],
    )
    assert "Anlage zur Sammelbestätigung" in annex
    rows = re.findall(r"(\d\d\.\d\d\.\d{4}) Geldzuwendung nein ([\d.]+,\d\d) €", annex)
    assert [date for date, _ in rows] == [f"03.{month:02d}.{year}" for month in range(1, 7)]
    annex_sum = sum(Decimal(amount.replace(".", "").replace(",", ".")) for _, amount in rows)
    assert annex_sum == expected_total
    assert "Gesamtsumme 152,35 €" in annex


@pytest.mark.django_db
def test_annual_receipt_covers_only_donations_not_yet_receipted(organisation):
    year = TODAY.year - 1
    patronage = monthly_donor()
    monthly_payment(patronage, datetime.date(year, 1, 5), "10.00")
    first = receipt_issue_annual(patron=patronage.patron, year=year)
    late = monthly_payment(patronage, datetime.date(year, 12, 30), "10.00")  # booked after the run

    second = receipt_issue_annual(patron=patronage.patron, year=year)
    third = receipt_issue_annual(patron=patronage.patron, year=year)

    assert first.total == second.total == Decimal("10.00")
    assert list(second.payments.all()) == [late]
    assert third is None


@pytest.mark.django_db
def test_annual_receipt_announces_itself_by_email_after_commit(
    organisation, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(emails, "send_annual_receipt_ready", lambda *, receipt: sent.append(receipt.number))
    patronage = monthly_donor()
    monthly_payment(patronage, datetime.date(TODAY.year - 1, 4, 1), "10.00")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        receipt = receipt_issue_annual(patron=patronage.patron, year=TODAY.year - 1)
        assert sent == []
    for callback in callbacks:
        callback()

    assert sent == [receipt.number]


@pytest.mark.django_db
def test_the_ready_email_goes_out_once_even_when_its_message_is_delivered_twice(
    organisation, mailoutbox, django_capture_on_commit_callbacks
):
    from fundraising.receipt_tasks import receipt_pdf_render

    patronage = monthly_donor()
    monthly_payment(patronage, datetime.date(TODAY.year - 1, 4, 1), "10.00")
    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipt_issue_annual(patron=patronage.patron, year=TODAY.year - 1)  # PDF, then e-mail
    assert len(mailoutbox) == 1
    receipt.refresh_from_db()
    assert receipt.pdf

    receipt_pdf_render(receipt.pk)  # the same message again (a worker died before acknowledging)

    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_ready_email_that_failed_is_sent_by_the_retry(
    organisation, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    from fundraising.receipt_tasks import receipt_pdf_render

    real_send = emails.send_annual_receipt_ready

    def mail_server_down(*, receipt):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(emails, "send_annual_receipt_ready", mail_server_down)
    patronage = monthly_donor()
    monthly_payment(patronage, datetime.date(TODAY.year - 1, 4, 1), "10.00")
    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipt_issue_annual(patron=patronage.patron, year=TODAY.year - 1)  # the task fails
    assert mailoutbox == []

    monkeypatch.setattr(emails, "send_annual_receipt_ready", real_send)
    receipt_pdf_render(receipt.pk)  # the retry: the PDF is kept, the e-mail goes out

    assert len(mailoutbox) == 1


# --- The January run ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_january_run_issues_every_donors_receipt_and_counts_as_it_goes(organisation):
    year = TODAY.year - 1
    donors = [monthly_donor(name=f"Donor {n}") for n in range(3)]
    homeless = monthly_donor(name="Nomad", address_line1="", postal_code="", city="")
    for patronage in [*donors, homeless]:
        monthly_payment(patronage, datetime.date(year, 2, 1), "10.00")
        monthly_payment(patronage, datetime.date(year, 3, 1), "10.00")
    perk_only = PatronageFactory(tier=TierFactory(), interval=Interval.MONTH)
    monthly_payment(perk_only, datetime.date(year, 2, 1), "5.00")
    progress = []

    def watch(sender, instance, created, **kwargs):
        if created:
            batch = ReceiptBatch.objects.get(year=year)
            progress.append((batch.status, batch.total, batch.done + batch.skipped))

    post_save.connect(watch, sender=DonationReceipt)
    try:
        batch = receipt_batch_run(year=year)
    finally:
        post_save.disconnect(watch, sender=DonationReceipt)

    assert (batch.status, batch.total, batch.done, batch.skipped) == (ReceiptBatch.Status.DONE, 4, 3, 1)
    assert batch.percent == 100
    assert "Nomad" in batch.message and "postal address" in batch.message
    assert all(status == ReceiptBatch.Status.RUNNING and total == 4 for status, total, _ in progress)
    assert [handled for *_, handled in progress] == sorted(handled for *_, handled in progress)
    assert progress[-1][2] >= 2, "finance sees donors counted while the run goes on"
    assert DonationReceipt.objects.filter(kind=DonationReceipt.Kind.ANNUAL).count() == 3
    assert {receipt.total for receipt in DonationReceipt.objects.all()} == {Decimal("20.00")}


@pytest.mark.django_db
def test_january_run_is_idempotent_per_year(organisation):
    year = TODAY.year - 1
    monthly_payment(monthly_donor(), datetime.date(year, 5, 1), "10.00")
    first = receipt_batch_run(year=year)

    again = receipt_batch_run(year=year)

    assert again.pk == first.pk
    assert (again.status, again.done) == (ReceiptBatch.Status.DONE, 1)
    assert DonationReceipt.objects.count() == 1
    assert ReceiptBatch.objects.count() == 1


@pytest.mark.django_db
def test_january_run_fails_with_the_reason_when_the_exemption_is_too_old(organisation):
    organisation.exemption_notice_date = TODAY.replace(year=TODAY.year - 6)
    organisation.save()
    year = TODAY.year - 1
    monthly_payment(monthly_donor(), datetime.date(year, 5, 1), "10.00")

    batch = receipt_batch_run(year=year)

    assert batch.status == ReceiptBatch.Status.FAILED
    assert "more than five years old" in batch.message
    assert not DonationReceipt.objects.exists()

    organisation.exemption_notice_date = TODAY - datetime.timedelta(days=10)
    organisation.save()
    batch = receipt_batch_run(year=year)  # fixed: the next run goes through
    assert (batch.status, batch.done) == (ReceiptBatch.Status.DONE, 1)


@pytest.mark.django_db
def test_january_run_costs_a_few_queries_a_donor_however_many_payments_they_made(organisation):
    """What all donors need alike is read once for many of them; each donor's refunds are read at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run_for(donors: int, year: int) -> int:
        for number in range(donors):
            patronage = monthly_donor(name=f"Donor {year} {number}")
            for month in range(1, 13):
                payment = monthly_payment(patronage, datetime.date(year, month, 3), "10.00")
            Refund.objects.create(
                stripe_refund_id=f"re_{year}_{number}", payment=payment, amount=Decimal("4.00"),
                amount_eur=Decimal("4.00"), created=timezone.now(),
            )  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            batch = receipt_batch_run(year=year)
        assert (batch.status, batch.done, batch.skipped) == (ReceiptBatch.Status.DONE, donors, 0)
        totals = DonationReceipt.objects.filter(period_end__year=year).values_list("total", flat=True)
        assert list(totals) == [Decimal("116.00")] * donors  # 12 x 10 EUR less the refunded 4 EUR
        return len(queries)

    few = run_for(5, TODAY.year - 2)
    many = run_for(20, TODAY.year - 1)

    # A donor's receipt: lock the patron, read the payments and their refunds, draw the number (3), store
    # the receipt and point the payments to it, save the progress (every donor in a run this small), and
    # the savepoint around it (2, as the test runs in a transaction).
    assert (many - few) / 15 <= 11


# --- Downloads ---------------------------------------------------------------------------------
@pytest.fixture
def owned_receipt(organisation, make_user):
    owner = make_user("patron")
    payment = one_time_donation("120.00", patron=PatronFactory(user=owner))
    receipt = receipt_issue_single(payment=payment)  # no commit in this test: the PDF is rendered on demand
    return owner, receipt


def receipt_url(receipt) -> str:
    return f"/support/receipts/{receipt.number}.pdf"


@pytest.mark.django_db
def test_anonymous_visitor_gets_404_for_a_receipt(client, owned_receipt):
    _owner, receipt = owned_receipt

    assert client.get(receipt_url(receipt)).status_code == 404


@pytest.mark.django_db
def test_other_patron_gets_404_for_a_receipt(client, make_user, owned_receipt):
    _owner, receipt = owned_receipt
    other = make_user("patron")
    PatronFactory(user=other)
    client.force_login(other)

    assert client.get(receipt_url(receipt)).status_code == 404
    assert client.get(f"/support/receipts/{receipt.number}/simplified.pdf").status_code == 404


@pytest.mark.django_db
def test_owner_downloads_their_receipt_rendered_on_demand(client, owned_receipt):
    owner, receipt = owned_receipt
    assert not receipt.pdf
    client.force_login(owner)

    response = client.get(receipt_url(receipt))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{receipt.number}.pdf"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = pdf_pages(b"".join(response.streaming_content))[0]
    assert "– einhundertzwanzig Euro –" in text
    receipt.refresh_from_db()
    assert receipt.pdf, "the copy is kept once rendered"


@pytest.mark.django_db
def test_finance_with_mfa_downloads_any_receipt(finance_client, owned_receipt):
    _owner, receipt = owned_receipt

    response = finance_client.get(receipt_url(receipt))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_finance_without_mfa_is_sent_to_set_it_up(client, make_user, owned_receipt):
    _owner, receipt = owned_receipt
    client.force_login(make_user("patron", "finance", mfa=False))

    response = client.get(receipt_url(receipt))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_unknown_receipt_number_is_404_even_for_finance(finance_client, organisation):
    assert finance_client.get("/support/receipts/ZB-2000-99999.pdf").status_code == 404


# --- Simplified receipt up to 300 EUR ----------------------------------------------------------
@pytest.mark.django_db
def test_small_gift_also_offers_the_simplified_confirmation(client, owned_receipt):
    owner, receipt = owned_receipt
    client.force_login(owner)

    response = client.get(f"/support/receipts/{receipt.number}/simplified.pdf")

    assert response.status_code == 200
    text = pdf_pages(response.content)[0]
    assert_in_order(
        text,
        [
            "Fediverse Commons gGmbH",
            "Vereinfachter Zuwendungsnachweis",
            "§ 50 Abs. 4",
            "120,00 €",
            "Geldzuwendung (Spende)",
            "Bei der Zuwendung handelt es sich um eine Spende, nicht um einen Mitgliedsbeitrag.",
            "nach § 5 Abs. 1 Nr. 9 des Körperschaftsteuergesetzes von der Körperschaftsteuer",
            f"Die Zuwendung wird nur zur Förderung {PURPOSES} verwendet.",
        ],
    )


@pytest.mark.django_db
def test_gift_above_300_euros_has_no_simplified_confirmation(client, make_user, organisation):
    owner = make_user("patron")
    receipt = receipt_issue_single(payment=one_time_donation("300.01", patron=PatronFactory(user=owner)))
    client.force_login(owner)

    assert client.get(f"/support/receipts/{receipt.number}/simplified.pdf").status_code == 404


# --- Finance screens ---------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True, mfa=True))
    return client


@pytest.mark.django_db
def test_finance_lists_receipts_with_filters(admin_client, organisation):
    single = receipt_issue_single(payment=one_time_donation("55.00"))
    patronage = monthly_donor(name="Annual Donor")
    monthly_payment(patronage, datetime.date(TODAY.year - 1, 6, 1), "9.00")
    annual = receipt_issue_annual(patron=patronage.patron, year=TODAY.year - 1)

    everything = admin_client.get("/admin/fundraising/receipts/")
    annual_only = admin_client.get("/admin/fundraising/receipts/?kind=annual")

    assert everything.status_code == 200
    assert single.number in everything.text and annual.number in everything.text
    assert annual.number in annual_only.text and single.number not in annual_only.text
    inspect = admin_client.get(f"/admin/fundraising/receipts/inspect/{annual.pk}/")
    assert inspect.status_code == 200
    assert "9.00" in inspect.text


@pytest.mark.django_db
def test_finance_sees_the_progress_of_a_run_and_starts_one(
    admin_client, organisation, django_capture_on_commit_callbacks
):
    year = TODAY.year - 1
    monthly_payment(monthly_donor(), datetime.date(year, 5, 1), "10.00")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/fundraising/receipt-runs/new/", {"year": year})

    assert response.status_code == 302
    batch = ReceiptBatch.objects.get(year=year)
    assert (batch.status, batch.done, batch.total) == (ReceiptBatch.Status.DONE, 1, 1)
    listing = admin_client.get("/admin/fundraising/receipt-runs/")
    assert listing.status_code == 200
    assert "1 of 1" in listing.text


@pytest.mark.django_db
def test_a_run_for_the_current_year_cannot_be_started(admin_client, organisation):
    response = admin_client.post("/admin/fundraising/receipt-runs/new/", {"year": TODAY.year})

    assert response.status_code == 200
    assert not ReceiptBatch.objects.exists()


@pytest.mark.django_db
def test_a_run_cannot_be_started_while_the_exemption_is_too_old(admin_client, organisation):
    organisation.exemption_notice_date = TODAY.replace(year=TODAY.year - 6)
    organisation.save()

    response = admin_client.post("/admin/fundraising/receipt-runs/new/", {"year": TODAY.year - 1})

    assert response.status_code == 200
    assert "more than five years old" in response.text
    assert not ReceiptBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("roles", [("patron",), ("patron", "editor")], ids=["patron", "editor"])
def test_receipt_screens_are_closed_to_other_roles(client, make_user, organisation, roles):
    receipt = receipt_issue_single(payment=one_time_donation())
    client.force_login(make_user(*roles, mfa=True))

    for url in (
        "/admin/fundraising/receipts/",
        f"/admin/fundraising/receipts/inspect/{receipt.pk}/",
        "/admin/fundraising/receipt-runs/",
        "/admin/fundraising/receipt-runs/new/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert receipt.number not in response.text, url


RECEIPT_PERMISSIONS = ["view_donationreceipt", "view_receiptbatch", "add_receiptbatch"]


@pytest.mark.django_db
def test_finance_with_the_receipt_permissions_opens_the_screens_but_cannot_edit_receipts(
    client, make_user, organisation
):
    from django.contrib.auth.models import Permission

    user = make_user("patron", "finance", mfa=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="fundraising", codename__in=RECEIPT_PERMISSIONS)
    )
    receipt = receipt_issue_single(payment=one_time_donation())
    client.force_login(user)

    assert client.get("/admin/fundraising/receipts/").status_code == 200
    assert client.get(f"/admin/fundraising/receipts/inspect/{receipt.pk}/").status_code == 200
    assert client.get("/admin/fundraising/receipt-runs/new/").status_code == 200
    assert client.get(f"/admin/fundraising/receipts/edit/{receipt.pk}/").status_code in (302, 403)
    assert client.get(f"/admin/fundraising/receipts/delete/{receipt.pk}/").status_code in (302, 403)


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_issues_receipt_each_donation_once_with_gap_free_numbers(organisation):
    from django.db import connection

    year = TODAY.year - 1
    patronage = monthly_donor()
    monthly_payment(patronage, datetime.date(year, 3, 1), "10.00")
    monthly_payment(patronage, datetime.date(year, 4, 1), "10.00")
    gifts = [one_time_donation("15.00"), one_time_donation("16.00")]
    jobs = [
        lambda: receipt_issue_annual(patron=patronage.patron, year=year),
        lambda: receipt_issue_annual(patron=patronage.patron, year=year),
        lambda: receipt_issue_single(payment=gifts[0]),
        lambda: receipt_issue_single(payment=gifts[1]),
    ]
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def run(job):
        try:
            barrier.wait(timeout=10)
            results.append(job())
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result is None for result in results) == [False, False, False, True]
    numbers = sorted(DonationReceipt.objects.values_list("number", flat=True))
    assert numbers == [f"ZB-{TODAY.year}-{n:05d}" for n in (1, 2, 3)]
    assert DonationReceipt.objects.get(kind=DonationReceipt.Kind.ANNUAL).total == Decimal("20.00")
    assert not Payment.objects.filter(receipt__isnull=True).exists()
