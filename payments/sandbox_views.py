"""The sandbox's local stand-ins for Stripe's hosted pages: Checkout (card or SEPA Direct Debit), the hosted
invoice page, the Billing Portal; and a page where a pending SEPA Direct Debit can be answered by the bank.

Every view answers 404 unless the sandbox is on (``payments.gateway.sandbox_enabled``), so none of this
exists in production. The work is done by ``payments.sandbox``; the views only show and validate.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import sandbox
from .errors import PaymentRequestRefused, UnknownObject
from .gateway import sandbox_enabled
from .normalise import amount_from_minor, timestamp
from .sandbox_forms import AddressForm, CardForm, SepaDebitForm


def sandbox_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not sandbox_enabled():
            raise Http404("The payment sandbox is switched off.")
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _use_language(request, locale: str | None) -> None:
    """Show the page in the session's locale, as Stripe's hosted pages do (``auto``: the browser's)."""
    language = (locale or "").split("-")[0]
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language


def _test_cards(numbers=sandbox.CHECKOUT_HINT_CARDS) -> list[dict]:
    return [
        {
            "number": " ".join(number[i : i + 4] for i in range(0, len(number), 4)),
            "label": sandbox.TEST_CARDS[number].label,
        }
        for number in numbers
    ]


def _test_ibans() -> list[dict]:
    return [
        {
            "iban": " ".join(account.iban[i : i + 4] for i in range(0, len(account.iban), 4)),
            "label": account.label,
        }
        for account in sandbox.TEST_IBANS.values()
    ]


def _error_summary(*forms) -> list[dict]:
    """Every error of the forms, each with the id of its field (None: the form's own), for the summary
    at the top of the page that screen readers announce."""
    errors = []
    for form in forms:
        if form is None or not form.is_bound:
            continue
        for message in form.non_field_errors():
            errors.append({"field_id": None, "label": "", "message": message})
        for field in form:
            for message in field.errors:
                errors.append({"field_id": field.id_for_label, "label": field.label, "message": message})
    return errors


@sandbox_only
@require_http_methods(["GET", "POST"])
def checkout(request, session_id: str):
    try:
        page = sandbox.checkout_page(session_id=session_id)
    except UnknownObject:
        raise Http404("No such checkout session.") from None
    session = page.session
    if session["status"] == "complete":
        return HttpResponseRedirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
    _use_language(request, session.get("locale"))
    name_label = _("Full name") if page.collect_address else None
    data = request.POST if request.method == "POST" else None
    method = request.POST.get("payment_method") if data is not None else None
    if method not in page.payment_methods:
        method = page.payment_methods[0]
    card_form = CardForm(
        data if method == "card" else None, ask_email=not page.email, name_label=name_label, prefix="card"
    )
    sepa_form = (
        SepaDebitForm(data if method == "sepa_debit" else None, ask_email=not page.email, prefix="sepa")
        if "sepa_debit" in page.payment_methods
        else None
    )
    chosen_form = sepa_form if method == "sepa_debit" else card_form
    address_form = AddressForm(data, prefix="address") if page.collect_address else None
    if session["status"] != "open":
        messages.error(request, _("This checkout session has expired."))
    elif (
        request.method == "POST"
        and chosen_form.is_valid()
        and (address_form is None or address_form.is_valid())
    ):
        try:
            if method == "sepa_debit":
                url = sandbox.checkout_sepa_pay(
                    session_id=session_id,
                    iban=sepa_form.cleaned_data["iban"],
                    email=sepa_form.cleaned_data.get("email") or "",
                    name=sepa_form.cleaned_data["name"],
                    address=address_form.address() if address_form else None,
                    ip_address=request.META.get("REMOTE_ADDR", ""),
                    user_agent=request.headers.get("User-Agent", "")[:500],
                )
                debit = sandbox.sepa_debit(session_id=session_id)
                if debit is not None and debit.status == "pending":
                    url = reverse("payments:sandbox_checkout_debit", kwargs={"session_id": session_id})
            else:
                month, year = card_form.cleaned_data["expiry"]
                url = sandbox.checkout_pay(
                    session_id=session_id,
                    card_number=card_form.cleaned_data["card_number"],
                    email=card_form.cleaned_data.get("email") or "",
                    name=card_form.cleaned_data["name"],
                    address=address_form.address() if address_form else None,
                    exp_month=month,
                    exp_year=year,
                )
        except sandbox.CardDeclined as error:
            card_form.add_error("card_number", error.user_message)
        except sandbox.IbanRefused as error:
            sepa_form.add_error("iban", error.user_message)
        except PaymentRequestRefused as error:
            chosen_form.add_error(None, str(error))
        else:
            return HttpResponseRedirect(url)
    return render(
        request,
        "payments/sandbox/checkout.html",
        {
            "page": page,
            "session": session,
            "method": method,
            "card_form": card_form,
            "sepa_form": sepa_form,
            "address_form": address_form,
            "errors": _error_summary(chosen_form, address_form) if request.method == "POST" else [],
            "test_cards": _test_cards() if "card" in page.payment_methods else [],
            "test_ibans": _test_ibans() if sepa_form else [],
            "sepa_delay": sandbox.sepa_delay_seconds(),
        },
    )


@sandbox_only
@require_http_methods(["GET", "POST"])
def checkout_debit(request, session_id: str):
    """Where the sandbox sends a payer after a SEPA Direct Debit while the bank has not answered yet.

    Stripe sends the payer straight back to the site; the sandbox shows this page in between so that a
    person trying the demo can have the bank answer now (a POST) instead of moving the sandbox clock."""
    try:
        debit = sandbox.sepa_debit(session_id=session_id)
    except UnknownObject:
        debit = None
    if debit is None:
        raise Http404("No SEPA Direct Debit for this checkout session.")
    _use_language(request, debit.session.get("locale"))
    if request.method == "POST":
        if sandbox.sepa_settle(session_id=session_id):
            if sandbox.sepa_debit(session_id=session_id).status == "succeeded":
                messages.success(request, _("The bank confirmed the debit: the payment is complete."))
            else:
                messages.error(request, _("The bank returned the debit: the payment failed."))
        return redirect("payments:sandbox_checkout_debit", session_id=session_id)
    return render(request, "payments/sandbox/debit.html", {"debit": debit})


@sandbox_only
@require_http_methods(["GET", "POST"])
def invoice(request, token: str):
    try:
        invoice = sandbox.invoice_for_token(token=token)
    except UnknownObject:
        raise Http404("No such invoice.") from None
    card_form = CardForm(request.POST if request.method == "POST" else None, prefix="card")
    if request.method == "POST" and invoice["status"] == "open" and card_form.is_valid():
        month, year = card_form.cleaned_data["expiry"]
        try:
            sandbox.invoice_pay(
                invoice_id=invoice["id"],
                card_number=card_form.cleaned_data["card_number"],
                name=card_form.cleaned_data["name"],
                exp_month=month,
                exp_year=year,
            )
        except sandbox.CardDeclined as error:
            card_form.add_error("card_number", error.user_message)
        else:
            messages.success(request, _("Thank you: the invoice is paid."))
            return redirect("payments:sandbox_invoice", token=token)
    return render(
        request,
        "payments/sandbox/invoice.html",
        {
            "invoice": invoice,
            "amount": amount_from_minor(invoice["amount_due"], invoice["currency"]),
            "line": invoice["lines"]["data"][0] if invoice["lines"]["data"] else None,
            "card_form": card_form,
            "test_cards": _test_cards(),
        },
    )


def _portal(token: str, request) -> sandbox.Portal:
    try:
        portal = sandbox.portal_for_token(token=token)
    except UnknownObject:
        raise Http404("This portal link is unknown or has expired.") from None
    _use_language(request, portal.session.get("locale"))
    return portal


@sandbox_only
@require_http_methods(["GET"])
def portal(request, token: str):
    portal = _portal(token, request)
    subscriptions = []
    for subscription in portal.subscriptions:
        item = subscription["items"]["data"][0]
        price = item["price"]
        subscriptions.append(
            {
                "subscription": subscription,
                "product_name": sandbox.product_name(price["product"]),
                "amount": amount_from_minor(price["unit_amount"], price["currency"]),
                "currency": price["currency"],
                "interval": price["recurring"]["interval"],
                "period_end": timestamp(item["current_period_end"]),
                "canceled_at": timestamp(subscription.get("ended_at")),
                "choices": [
                    {**choice, "amount": amount_from_minor(choice["unit_amount"], choice["currency"])}
                    for choice in sandbox.prices_to_switch_to(subscription_id=subscription["id"])
                ]
                if subscription["status"] in ("active", "trialing", "past_due")
                else [],
                "open_invoice": sandbox.open_invoice(subscription)
                if subscription["status"] == "past_due"
                else None,
            }
        )
    return render(
        request,
        "payments/sandbox/portal.html",
        {
            "portal": portal,
            "token": token,
            "subscriptions": subscriptions,
            "return_url": portal.session["return_url"],
        },
    )


@sandbox_only
@require_POST
def portal_subscription(request, token: str, subscription_id: str, action: str):
    portal = _portal(token, request)
    if subscription_id not in {subscription["id"] for subscription in portal.subscriptions}:
        raise Http404("No such subscription for this customer.")
    try:
        if action == "change":
            sandbox.subscription_change_price(
                subscription_id=subscription_id, lookup_key=request.POST.get("lookup_key", "")
            )
            messages.success(request, _("Your plan was changed. The next payment charges the new amount."))
        elif action == "cancel":
            sandbox.subscription_cancel(subscription_id=subscription_id, at_period_end=True)
            messages.success(request, _("Your subscription will end at the end of the current period."))
        elif action == "cancel-now":
            sandbox.subscription_cancel(subscription_id=subscription_id, at_period_end=False)
            messages.success(request, _("Your subscription was canceled."))
        elif action == "renew":
            sandbox.subscription_cancel_undo(subscription_id=subscription_id)
            messages.success(request, _("Your subscription continues."))
        else:
            raise Http404("Unknown action.")
    except PaymentRequestRefused as error:
        messages.error(request, str(error))
    return redirect("payments:sandbox_portal", token=token)


@sandbox_only
@require_http_methods(["GET", "POST"])
def portal_card(request, token: str):
    portal = _portal(token, request)
    card_form = CardForm(request.POST if request.method == "POST" else None, prefix="card")
    if request.method == "POST" and card_form.is_valid():
        month, year = card_form.cleaned_data["expiry"]
        try:
            sandbox.customer_card_update(
                customer_id=portal.customer["id"],
                card_number=card_form.cleaned_data["card_number"],
                name=card_form.cleaned_data["name"],
                exp_month=month,
                exp_year=year,
            )
        except sandbox.CardDeclined as error:
            card_form.add_error("card_number", error.user_message)
        else:
            messages.success(request, _("Your card was saved."))
            return redirect("payments:sandbox_portal", token=token)
    return render(
        request,
        "payments/sandbox/portal_card.html",
        {
            "portal": portal,
            "token": token,
            "card_form": card_form,
            "test_cards": _test_cards(
                ("4242424242424242", "5555555555554444", sandbox.CARD_FAILS_AFTER_SAVING)
            ),
        },
    )
