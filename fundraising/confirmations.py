"""Payment confirmations: one PDF per payment, rendered on first download and kept in private storage.

For a perk-tier payment (a taxable sale) the confirmation is an invoice under § 14 UStG: seller and
buyer with addresses, the seller's tax number or VAT ID, date, unique number (``Payment.number``),
description and period of the service, net amount, VAT rate, VAT amount and gross amount. For a
donation it is a plain confirmation that says it is *not* a donation receipt: receipts
(Zuwendungsbestätigungen) are separate documents (DOMAIN.md 2-4).

The PDF is a booking voucher: it is kept for 8 years after the end of the year of payment
(DOMAIN.md 8), then ``fundraising.privacy.retention_purge`` deletes it.
"""

from __future__ import annotations

import datetime

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Kind, Payment

RETENTION_YEARS = 8


def confirmation_retain_until(payment: Payment) -> datetime.date:
    """The last day the confirmation must be kept: 8 years after the end of the year of payment."""
    year = timezone.localtime(payment.paid_at).year
    return datetime.date(year + RETENTION_YEARS, 12, 31)


def confirmation_is_invoice(payment: Payment) -> bool:
    return payment.kind == Kind.PERK


def organisation_for_documents():
    """The organisation's legal identity (site settings of the default site), or None before set-up."""
    from wagtail.models import Site

    from cms.models import OrganisationSettings

    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        return None
    return OrganisationSettings.for_site(site)


def confirmation_render(*, payment: Payment) -> bytes:
    """The confirmation (or invoice) as PDF bytes, in the patron's language. Loads nothing from outside."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    patron = payment.patron
    patronage = payment.patronage
    tier = patronage.tier if patronage else None
    organisation = organisation_for_documents()
    directors = organisation.managing_directors.splitlines() if organisation else []
    with translation.override(patron.language or "en"):
        html = render_to_string(
            "fundraising/confirmations/payment.html",
            {
                "payment": payment,
                "patron": patron,
                "patronage": patronage,
                "tier_name": tier.display_name if tier else "",
                "is_invoice": confirmation_is_invoice(payment),
                "organisation": organisation,
                "managing_directors": ", ".join(line.strip() for line in directors if line.strip()),
                "paid_on": timezone.localtime(payment.paid_at).date(),
                "currency": payment.currency.upper(),
            },
        )
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def confirmation_store(*, payment: Payment) -> Payment:
    """Render the confirmation once and keep it; a second caller gets the file the first one stored."""
    if payment.confirmation_file:
        return payment
    content = confirmation_render(payment=payment)
    file_field = payment.confirmation_file
    name = file_field.field.generate_filename(payment, f"{payment.number}.pdf")
    stored_name = file_field.storage.save(name, ContentFile(content))
    claimed = Payment.objects.filter(pk=payment.pk, confirmation_file="").update(
        confirmation_file=stored_name
    )
    if not claimed:
        # Someone else stored it first: keep theirs, drop ours.
        file_field.storage.delete(stored_name)
    payment.refresh_from_db(fields=["confirmation_file"])
    return payment
