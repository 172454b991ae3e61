"""The documents of a sponsor invoice or credit note: the EN 16931 XML and the PDF/A-3 that carries it.

- ``invoice_xml`` builds the structured invoice (UN/CEFACT CII, Factur-X / ZUGFeRD profile EN 16931) with
  drafthorse and validates it against the profile's XSD while serialising.
- ``invoice_pdf`` renders ``templates/sponsors/invoice.html`` with WeasyPrint as PDF/A-3b and embeds the XML
  with the factur-x library (``factur-x.xml``, AFRelationship Data, Factur-X XMP extension schema), so one
  file serves people and bookkeeping software (DOMAIN.md 4).

Both read only the frozen ``buyer`` / ``seller`` snapshots and figures of the invoice, never the live sponsor
or site settings: an issued invoice renders the same forever.

**VAT categories** (UNTDID 5305, EN 16931 rules BR-S/AE/O):

- domestic: ``S`` 19 %;
- reverse charge (EU business with a VAT id): ``AE`` 0 % with VATEX-EU-AE; seller and buyer VAT ids present
  (BR-AE-02);
- customer outside the EU: ``O`` (services outside the scope of tax): the place of supply of a B2B service
  is the customer's country (§ 3a (2) UStG), so the supply is not taxable in Germany at all; it is not an
  export exemption (``G`` is for goods) and not exempt (``E``);
- passive mention: ``O`` as well: no taxable supply takes place.

Category ``O`` forbids the seller's and the buyer's VAT id in the XML (BR-O-02), so those invoices identify
the seller by its tax number (BT-32, scheme ``FC``) and its register number (BT-30, which BR-CO-26 accepts);
the PDF still prints the VAT id in the letterhead. Category ``O`` carries no rate (BR-O-05, BR-O-14).

**Labels.** The PDF's wording comes from ``LABELS`` (English and German pairs in this module) rather than
gettext: the invoice is a legal document that must render in German on any machine, also where the message
catalogues are not compiled, and its wording is fixed at issue. Money and dates are formatted with Babel.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.template.loader import render_to_string
from django.utils import translation

from .models import Invoice, VatTreatment

GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"  # BT-24 of the Factur-X / ZUGFeRD profile EN 16931
TYPE_INVOICE = "380"  # UNTDID 1001 commercial invoice
TYPE_CREDIT_NOTE = "381"  # UNTDID 1001 credit note
PAYMENT_MEANS_SEPA_TRANSFER = "58"  # UNTDID 4461
UNIT_ONE = "C62"  # UN/ECE rec. 20: one (a service)


@dataclass(frozen=True)
class VatCategory:
    """How one VAT treatment is written in EN 16931 (BG-23) and which VAT ids the XML may carry."""

    code: str  # BT-118, UNTDID 5305
    rate: Decimal | None  # BT-119; None where the rules forbid a rate (category O)
    exemption_code: str  # BT-121, VATEX
    exemption_reason: str  # BT-120
    vat_ids_allowed: bool  # BR-O-02: no seller or buyer VAT id with category O


VAT_CATEGORIES: dict[str, VatCategory] = {
    VatTreatment.DOMESTIC: VatCategory(
        code="S", rate=Decimal("19.00"), exemption_code="", exemption_reason="", vat_ids_allowed=True
    ),
    VatTreatment.REVERSE_CHARGE: VatCategory(
        code="AE",
        rate=Decimal("0.00"),
        exemption_code="VATEX-EU-AE",
        exemption_reason="Reverse charge / Steuerschuldnerschaft des Leistungsempfängers",
        vat_ids_allowed=True,
    ),
    VatTreatment.NON_EU: VatCategory(
        code="O",
        rate=None,
        exemption_code="VATEX-EU-O",
        exemption_reason="Not taxable in Germany (place of supply abroad, §3a(2) UStG)",
        vat_ids_allowed=False,
    ),
    VatTreatment.PASSIVE: VatCategory(
        code="O",
        rate=None,
        exemption_code="VATEX-EU-O",
        exemption_reason="Not a taxable supply: passive sponsorship mention",
        vat_ids_allowed=False,
    ),
}


def vat_category(invoice: Invoice) -> VatCategory:
    return VAT_CATEGORIES[VatTreatment(invoice.vat_treatment)]


# --- The XML --------------------------------------------------------------------------------------


def _address(address, *, street: str, extra: str = "", postcode: str, city: str, country: str) -> None:
    if postcode:
        address.postcode = postcode
    if street:
        address.line_one = street
    if extra:
        address.line_two = extra
    if city:
        address.city_name = city
    address.country_id = (country or "DE").upper()


def _seller(party, seller: dict, *, vat_ids_allowed: bool) -> None:
    from drafthorse.models.party import TaxRegistration

    party.name = seller.get("name", "")
    if seller.get("register_number"):
        party.legal_organization.id = seller["register_number"]  # BT-30
    elif seller.get("tax_number"):
        party.id = seller["tax_number"]  # BT-29, so that BR-CO-26 still finds the seller
    if seller.get("email") or seller.get("phone"):
        party.contact.department_name = "Finance"
        if seller.get("phone"):
            party.contact.telephone.number = seller["phone"]
        if seller.get("email"):
            party.contact.email.address = seller["email"]
    _address(
        party.address,
        street=seller.get("street", ""),
        postcode=seller.get("postcode", ""),
        city=seller.get("city", ""),
        country=seller.get("country", ""),
    )
    if seller.get("email"):
        party.electronic_address.uri_ID = ("EM", seller["email"])  # BT-34
    if seller.get("tax_number"):
        party.tax_registrations.add(TaxRegistration(id=("FC", seller["tax_number"])))  # BT-32
    if vat_ids_allowed and seller.get("vat_id"):
        party.tax_registrations.add(TaxRegistration(id=("VA", seller["vat_id"])))  # BT-31


def _buyer(party, buyer: dict, *, vat_ids_allowed: bool) -> None:
    from drafthorse.models.party import TaxRegistration

    party.name = buyer.get("legal_name", "")
    _address(
        party.address,
        street=buyer.get("street", ""),
        extra=buyer.get("address_extra", ""),
        postcode=buyer.get("postcode", ""),
        city=buyer.get("city", ""),
        country=buyer.get("country", ""),
    )
    if buyer.get("email"):
        party.electronic_address.uri_ID = ("EM", buyer["email"])  # BT-49
    if vat_ids_allowed and buyer.get("vat_id"):
        party.tax_registrations.add(TaxRegistration(id=("VA", buyer["vat_id"])))  # BT-48


def _trade_tax(tax, invoice: Invoice, category: VatCategory, *, header: bool) -> None:
    tax.type_code = "VAT"
    tax.category_code = category.code
    if category.rate is not None:
        tax.rate_applicable_percent = category.rate
    if header:
        tax.calculated_amount = invoice.vat_amount
        tax.basis_amount = invoice.net_amount
        if category.exemption_reason:
            tax.exemption_reason = category.exemption_reason
        if category.exemption_code:
            tax.exemption_reason_code = category.exemption_code


def invoice_document(invoice: Invoice):
    """The drafthorse ``Document`` of an invoice or credit note (one line: the sponsorship period)."""
    from drafthorse.models.accounting import ApplicableTradeTax
    from drafthorse.models.document import Document
    from drafthorse.models.note import IncludedNote
    from drafthorse.models.payment import PaymentMeans, PaymentTerms
    from drafthorse.models.tradelines import LineItem

    category = vat_category(invoice)
    seller, buyer = invoice.seller or {}, invoice.buyer or {}
    currency = invoice.currency or "EUR"

    document = Document()
    document.context.guideline_parameter.id = GUIDELINE_EN16931
    document.header.id = invoice.number
    document.header.type_code = TYPE_CREDIT_NOTE if invoice.is_credit_note else TYPE_INVOICE
    document.header.issue_date_time = invoice.issue_date
    if invoice.is_credit_note:
        note = IncludedNote()
        note.content = invoice.description
        document.header.notes.add(note)
    if category.exemption_reason:
        note = IncludedNote()
        note.content = category.exemption_reason
        document.header.notes.add(note)

    line = LineItem()
    line.document.line_id = "1"
    line.product.name = invoice.description
    line.agreement.net.amount = invoice.net_amount
    line.delivery.billed_quantity = (Decimal("1"), UNIT_ONE)
    _trade_tax(line.settlement.trade_tax, invoice, category, header=False)
    line.settlement.period.start = invoice.service_start
    line.settlement.period.end = invoice.service_end
    line.settlement.monetary_summation.total_amount = invoice.net_amount
    document.trade.items.add(line)

    agreement = document.trade.agreement
    if buyer.get("purchase_order"):
        agreement.buyer_reference = buyer["purchase_order"]  # BT-10
        agreement.buyer_order.issuer_assigned_id = buyer["purchase_order"]  # BT-13
    _seller(agreement.seller, seller, vat_ids_allowed=category.vat_ids_allowed)
    _buyer(agreement.buyer, buyer, vat_ids_allowed=category.vat_ids_allowed)

    settlement = document.trade.settlement
    settlement.currency_code = currency
    if not invoice.is_credit_note:
        settlement.payment_reference = invoice.number  # BT-83
        if seller.get("iban"):
            means = PaymentMeans()
            means.type_code = PAYMENT_MEANS_SEPA_TRANSFER
            means.information.add("SEPA credit transfer")
            means.payee_account.iban = seller["iban"]
            if seller.get("bank_account_holder"):
                means.payee_account.account_name = seller["bank_account_holder"]
            if seller.get("bic"):
                means.payee_institution.bic = seller["bic"]
            settlement.payment_means.add(means)
    tax = ApplicableTradeTax()
    _trade_tax(tax, invoice, category, header=True)
    settlement.trade_tax.add(tax)
    settlement.period.start = invoice.service_start
    settlement.period.end = invoice.service_end
    terms = PaymentTerms()
    if invoice.is_credit_note:
        terms.description = (
            f"Credit note cancelling invoice {invoice.cancels.number}: the amount is refunded "
            "or set off; nothing to pay."
        )
    elif invoice.due_date:
        terms.description = f"Payable without deduction by {invoice.due_date:%Y-%m-%d}."
        terms.due = invoice.due_date
    else:
        terms.description = "Payable without deduction on receipt."
    settlement.terms.add(terms)

    totals = settlement.monetary_summation
    totals.line_total = invoice.net_amount
    totals.charge_total = Decimal("0.00")
    totals.allowance_total = Decimal("0.00")
    totals.tax_basis_total = (invoice.net_amount, None)
    totals.tax_total = (invoice.vat_amount, currency)
    totals.grand_total = (invoice.gross_amount, None)
    totals.due_amount = invoice.gross_amount

    if invoice.is_credit_note and invoice.cancels_id:
        settlement.invoice_referenced_document.issuer_assigned_id = invoice.cancels.number  # BT-25
        settlement.invoice_referenced_document.issue_date_time = invoice.cancels.issue_date  # BT-26
    return document


def invoice_xml(invoice: Invoice) -> bytes:
    """The EN 16931 CII XML (Factur-X / ZUGFeRD profile EN16931) of an invoice or credit note.

    Serialising validates it against the profile's XSD that drafthorse ships (raises on an invalid one)."""
    return invoice_document(invoice).serialize(schema="FACTUR-X_EN16931")


# --- The PDF --------------------------------------------------------------------------------------

# (English, German). The legal notices name the German term in both languages (§ 14a (5) UStG).
LABELS: dict[str, tuple[str, str]] = {
    "invoice": ("Invoice", "Rechnung"),
    "credit_note": ("Credit note / Gutschrift (Stornorechnung)", "Gutschrift (Stornorechnung) / Credit note"),
    "cancels": (
        "This credit note cancels invoice {number} of {date}.",
        "Diese Gutschrift storniert die Rechnung {number} vom {date}.",
    ),
    "number": ("Invoice number", "Rechnungsnummer"),
    "credit_note_number": ("Credit note number", "Gutschriftnummer"),
    "date": ("Invoice date", "Rechnungsdatum"),
    "credit_note_date": ("Date", "Datum"),
    "due_date": ("Due date", "Fällig am"),
    "service_period": ("Service period", "Leistungszeitraum"),
    "purchase_order": ("Your reference", "Ihre Referenz"),
    "buyer_vat_id": ("Customer VAT ID", "USt-IdNr. des Kunden"),
    "seller_vat_id": ("VAT ID", "USt-IdNr."),
    "tax_number": ("Tax number", "Steuernummer"),
    "tax_office": ("Tax office", "Finanzamt"),
    "position": ("Pos.", "Pos."),
    "description": ("Description", "Beschreibung"),
    "quantity": ("Qty", "Menge"),
    "amount": ("Amount (net)", "Betrag (netto)"),
    "net": ("Total net", "Summe netto"),
    "vat": ("VAT {rate} %", "Umsatzsteuer {rate} %"),
    "gross": ("Total", "Gesamtbetrag"),
    "gross_credit": ("Total credited", "Gutgeschriebener Betrag"),
    "period": ("{start} to {end}", "{start} bis {end}"),
    "reverse_charge": (
        "Steuerschuldnerschaft des Leistungsempfängers (reverse charge): the VAT is owed by the recipient "
        "of the service (Art. 196 Council Directive 2006/112/EC).",
        "Steuerschuldnerschaft des Leistungsempfängers (reverse charge): Die Umsatzsteuer schuldet der "
        "Leistungsempfänger (§ 13b UStG, Art. 196 MwStSystRL).",
    ),
    "non_eu": (
        "Nicht im Inland steuerbare Leistung (place of supply abroad): the service is not taxable in "
        "Germany because its place of supply is the customer's country (§ 3a (2) UStG); no German VAT "
        "is charged.",
        "Nicht im Inland steuerbare Leistung (place of supply abroad): Der Ort der Leistung liegt im Land "
        "des Leistungsempfängers (§ 3a Abs. 2 UStG); es wird keine deutsche Umsatzsteuer berechnet.",
    ),
    "passive": (
        "No VAT is charged: naming the sponsor without a link and without emphasis (a passive mention) "
        "is not a taxable supply.",
        "Es wird keine Umsatzsteuer berechnet: Die Nennung des Sponsors ohne Link und ohne Hervorhebung "
        "(passive Erwähnung) ist keine steuerbare Leistung.",
    ),
    "pay": (
        "Please transfer {amount} by {date} to the account below, quoting the reference {number}.",
        "Bitte überweisen Sie {amount} bis zum {date} unter Angabe der Referenz {number} auf das unten "
        "genannte Konto.",
    ),
    "credit_pay": (
        "If you have already paid invoice {number}, we refund the amount to you; otherwise there is "
        "nothing to pay.",
        "Falls Sie die Rechnung {number} bereits bezahlt haben, erstatten wir Ihnen den Betrag; "
        "andernfalls ist nichts zu zahlen.",
    ),
    "bank_details": ("Bank details", "Bankverbindung"),
    "account_holder": ("Account holder", "Kontoinhaber"),
    "iban": ("IBAN", "IBAN"),
    "bic": ("BIC", "BIC"),
    "bank": ("Bank", "Bank"),
    "reference": ("Reference", "Verwendungszweck"),
    "register": ("Register", "Handelsregister"),
    "managing_directors": ("Managing directors", "Geschäftsführung"),
    "email": ("E-mail", "E-Mail"),
    "phone": ("Phone", "Telefon"),
    "e_invoice": (
        "This PDF contains the invoice as structured data (EN 16931, Factur-X / ZUGFeRD) for your "
        "bookkeeping software.",
        "Diese PDF-Datei enthält die Rechnung als strukturierte Daten (EN 16931, Factur-X / ZUGFeRD) für "
        "Ihre Buchhaltungssoftware.",
    ),
    "thanks": ("Thank you for sponsoring our work.", "Vielen Dank, dass Sie unsere Arbeit unterstützen."),
}


def _language(invoice: Invoice) -> str:
    return "de" if (invoice.language or "en").lower().startswith("de") else "en"


def _locale(language: str) -> str:
    return "de_DE" if language == "de" else "en_GB"


def _labels(language: str) -> dict[str, str]:
    index = 1 if language == "de" else 0
    return {key: pair[index] for key, pair in LABELS.items()}


def money_text(amount: Decimal, *, language: str, currency: str = "EUR") -> str:
    return format_currency(amount, currency, locale=_locale(language))


def date_text(day: datetime.date | None, *, language: str) -> str:
    return format_date(day, format="medium", locale=_locale(language)) if day else ""


def _country(code: str, *, language: str) -> str:
    code = (code or "").upper()
    if not code:
        return ""
    return Locale.parse(language).territories.get(code, code)


def _seller_lines(seller: dict, *, language: str) -> list[str]:
    lines = [seller.get("street", ""), f"{seller.get('postcode', '')} {seller.get('city', '')}".strip()]
    lines.append(_country(seller.get("country", ""), language=language))
    return [line for line in lines if line]


def _buyer_lines(buyer: dict, *, language: str) -> list[str]:
    lines = [
        buyer.get("legal_name", ""),
        buyer.get("street", ""),
        buyer.get("address_extra", ""),
        f"{buyer.get('postcode', '')} {buyer.get('city', '')}".strip(),
        _country(buyer.get("country", ""), language=language),
    ]
    return [line for line in lines if line]


def _iban_display(iban: str) -> str:
    iban = (iban or "").replace(" ", "")
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def invoice_context(invoice: Invoice) -> dict:
    """What the template shows, every figure and date already formatted for the invoice's language."""
    language = _language(invoice)
    labels = _labels(language)
    category = vat_category(invoice)
    seller, buyer = invoice.seller or {}, invoice.buyer or {}

    def money(amount: Decimal) -> str:
        return money_text(amount, language=language, currency=invoice.currency or "EUR")

    def day(value: datetime.date | None) -> str:
        return date_text(value, language=language)

    rate = format_decimal(invoice.vat_rate, format="#,##0.##", locale=_locale(language))
    notice = {
        VatTreatment.REVERSE_CHARGE: labels["reverse_charge"],
        VatTreatment.NON_EU: labels["non_eu"],
        VatTreatment.PASSIVE: labels["passive"],
    }.get(VatTreatment(invoice.vat_treatment), "")
    cancelled = invoice.cancels if invoice.is_credit_note else None
    return {
        "invoice": invoice,
        "language": language,
        "labels": labels,
        "title": labels["credit_note"] if cancelled else labels["invoice"],
        "is_credit_note": bool(cancelled),
        "cancels_text": (
            labels["cancels"].format(number=cancelled.number, date=day(cancelled.issue_date))
            if cancelled
            else ""
        ),
        "seller": seller,
        "seller_lines": _seller_lines(seller, language=language),
        "buyer_lines": _buyer_lines(buyer, language=language),
        "buyer_vat_id": buyer.get("vat_id", "") if category.vat_ids_allowed else "",
        "purchase_order": buyer.get("purchase_order", ""),
        "issue_date": day(invoice.issue_date),
        "due_date": day(invoice.due_date),
        "service_period": labels["period"].format(
            start=day(invoice.service_start), end=day(invoice.service_end)
        ),
        "net": money(invoice.net_amount),
        "vat_label": labels["vat"].format(rate=rate),
        "vat": money(invoice.vat_amount),
        "gross": money(invoice.gross_amount),
        "vat_notice": notice,
        "payment_text": (
            labels["credit_pay"].format(number=cancelled.number)
            if cancelled
            else labels["pay"].format(
                amount=money(invoice.gross_amount), date=day(invoice.due_date), number=invoice.number
            )
        ),
        "iban": _iban_display(seller.get("iban", "")),
        "managing_directors": ", ".join(seller.get("managing_directors") or []),
    }


def _pdf_render(invoice: Invoice) -> bytes:
    """The visible invoice as PDF/A-3b; nothing is fetched from outside (only ``data:`` URLs)."""
    from weasyprint import HTML, URLFetcher

    language = _language(invoice)
    with translation.override(language):
        html = render_to_string("sponsors/invoice.html", invoice_context(invoice))
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf(
        pdf_variant="pdf/a-3b"
    )


def _pdf_metadata(invoice: Invoice) -> dict[str, str]:
    title = _labels(_language(invoice))["credit_note" if invoice.is_credit_note else "invoice"]
    seller = (invoice.seller or {}).get("name", "")
    return {
        "author": seller,
        "keywords": "",
        "title": f"{title} {invoice.number}",
        "subject": f"{title} {invoice.number}, {invoice.issue_date:%Y-%m-%d}, {seller}",
    }


def _info_matching_xmp(pdf: bytes) -> bytes:
    """Make the document information dictionary say what the XMP packet says (PDF/A-3, ISO 19005-3 6.6.2.3).

    factur-x writes a new XMP packet (producer "pypdf", its own dates) but keeps WeasyPrint's /Producer and
    adds /Keywords that the packet does not repeat; a PDF/A validator rejects either difference. The header
    goes back to WeasyPrint's PDF 1.7, the version PDF/A-3 is based on (factur-x writes 1.6)."""
    from pypdf import PdfWriter

    def pdf_date(value: datetime.datetime) -> str:
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.strftime("D:%Y%m%d%H%M%S+00'00'")

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.pdf_header = b"%PDF-1.7"
    xmp = writer.xmp_metadata
    if xmp is not None:
        info = {str(key): str(value) for key, value in (writer.metadata or {}).items()}
        if xmp.pdf_producer:
            info["/Producer"] = xmp.pdf_producer
        if xmp.xmp_create_date:
            info["/CreationDate"] = pdf_date(xmp.xmp_create_date)
        if xmp.xmp_modify_date:
            info["/ModDate"] = pdf_date(xmp.xmp_modify_date)
        if not xmp.pdf_keywords:
            info.pop("/Keywords", None)
        writer.metadata = info
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as PDF/A-3b with its EN 16931 XML embedded (Factur-X / ZUGFeRD EN16931)."""
    from facturx import generate_from_binary

    xml = invoice_xml(invoice)
    pdf = generate_from_binary(
        _pdf_render(invoice),
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata=_pdf_metadata(invoice),
        lang=_language(invoice),
        xmp_compression=False,
    )
    return _info_matching_xmp(pdf)
