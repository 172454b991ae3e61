"""The patron's own page, "My support": support, payments, confirmations, receipts, listing, data and deletion.

A patron sees only their own records (``Patron.user``); someone else's payment number gives 404.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from payments.errors import PaymentError
from payments.gateway import PaymentsNotConfigured, gateway

from . import privacy
from .confirmations import confirmation_retain_until, confirmation_store
from .forms import AccountDeleteForm, ListingForm
from .models import Payment

logger = logging.getLogger(__name__)


def _receipt_url(number: str) -> str:
    """The donation receipt download (built by the receipts part); empty until that view exists."""
    try:
        return reverse("fundraising:receipt_download", kwargs={"number": number})
    except NoReverseMatch:
        return ""


def tiers_url() -> str:
    """The live tiers page in the active language (a Wagtail page), else the home page."""
    from wagtail.models import Locale

    from cms.models import TiersPage

    pages = TiersPage.objects.live().public()
    page = pages.filter(locale=Locale.get_active()).first() or pages.first()
    return (page.url if page else "") or _home_path()


def _home_path() -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return "/" if language == settings.LANGUAGE_CODE else f"/{language}/"


def _page(request, patron, *, listing_form=None, status=200):
    today = timezone.localdate()
    context = {"patron": patron, "tiers_url": tiers_url()}
    if patron is not None:
        patronages = list(patron.patronages.select_related("tier").order_by("-started_at"))
        payments = list(patron.payments.select_related("patronage__tier").prefetch_related("refunds"))
        for payment in payments:
            payment.confirmation_available = (
                bool(payment.confirmation_file) or confirmation_retain_until(payment) >= today
            )
        receipts = list(patron.receipts.all())
        for receipt in receipts:
            receipt.download_url = "" if receipt.purged_at else _receipt_url(receipt.number)
        context.update(
            patronages=patronages,
            payments=payments,
            receipts=receipts,
            listing_form=listing_form or ListingForm(instance=patron),
            erasure_blockers=list(privacy.erasure_blockers(patron)),
            can_manage=bool(patron.stripe_customer_id),
        )
    return render(request, "fundraising/account/my_support.html", context, status=status)


@login_required
@require_GET
def my_support(request):
    return _page(request, privacy.patron_for_user(request.user))


@login_required
@require_POST
def listing_update(request):
    patron = privacy.patron_for_user(request.user)
    if patron is None:
        raise Http404
    form = ListingForm(request.POST, instance=patron)
    if not form.is_valid():
        messages.error(request, _("Your listing choice was not saved. Please check the marked fields."))
        return _page(request, patron, listing_form=form, status=400)
    form.save()
    privacy.public_caches_invalidate()
    messages.success(request, _("Your listing choice was saved."))
    return redirect("fundraising:my_support")


@login_required
@require_POST
def billing_portal(request):
    """Send the patron to Stripe's Billing Portal (card, tier, cancellation). Never inside a transaction."""
    patron = privacy.patron_for_user(request.user)
    if patron is None or not patron.stripe_customer_id:
        messages.error(request, _("There is no payment to manage yet."))
        return redirect("fundraising:my_support")
    return_url = settings.SITE_URL.rstrip("/") + reverse("fundraising:my_support")
    try:
        session = gateway().portal_create(
            customer_id=patron.stripe_customer_id, return_url=return_url, locale=get_language() or "en"
        )
    except PaymentsNotConfigured:
        logger.error("Billing portal requested but payments are not configured")
        messages.error(request, _("Managing payments is not available just now. Please try again later."))
        return redirect("fundraising:my_support")
    except PaymentError as error:
        logger.warning("Billing portal for patron %s failed: %r", patron.pseudonym, error)
        messages.error(request, str(error.user_message))
        return redirect("fundraising:my_support")
    return redirect(session.url)


@login_required
@require_GET
def confirmation_download(request, number: str):
    patron = privacy.patron_for_user(request.user)
    if patron is None:
        raise Http404
    payment = get_object_or_404(Payment, number=number, patron=patron)
    if not payment.confirmation_file:
        if confirmation_retain_until(payment) < timezone.localdate():
            raise Http404
        payment = confirmation_store(payment=payment)
    response = FileResponse(
        payment.confirmation_file.open("rb"),
        as_attachment=True,
        filename=f"{payment.number}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def data_export(request):
    patron = privacy.patron_for_user(request.user)
    if patron is None:
        raise Http404
    data = privacy.patron_export(patron=patron)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="my-support-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    patron = privacy.patron_for_user(request.user)
    blockers = list(privacy.erasure_blockers(patron)) if patron else []
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.account_delete(user=request.user)
        except privacy.ErasureRefused as refusal:
            messages.error(request, str(refusal.message))
            return redirect("fundraising:my_support_delete")
        logout(request)
        messages.success(
            request,
            _(
                "Your account was deleted and your personal data erased. Invoices and donation receipts are "
                "kept in restricted storage until the law lets us delete them."
            ),
        )
        return redirect(_home_path())
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "fundraising/account/delete.html",
        {"patron": patron, "form": form, "erasure_blockers": blockers},
        status=status,
    )
