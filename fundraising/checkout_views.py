"""The uncached checkout pages: pick the interval (or the amount), then off to Stripe's hosted Checkout."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from payments.errors import PaymentError

from . import services
from .checkout_forms import FreeAmountForm, TierCheckoutForm
from .models import Interval, Patronage, Tier

logger = logging.getLogger(__name__)


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _start(request, choice: services.CheckoutChoice) -> HttpResponseRedirect | tuple[str, int]:
    """Start the checkout and redirect (303) to it; on failure, a friendly message for the same page and
    its status: 429 when the rate limit refused it (fundraising.services.CheckoutRateLimited), else 200."""
    if not request.session.session_key:
        request.session.save()
    success = request.build_absolute_uri(reverse("fundraising:thanks")) + "?session_id={CHECKOUT_SESSION_ID}"
    cancel = request.build_absolute_uri(request.get_full_path())
    try:
        session = services.checkout_start(
            choice=choice,
            user=request.user,
            language=get_language() or "en",
            client_ip=_client_ip(request),
            session_key=request.session.session_key or "",
            success_url=success,
            cancel_url=cancel,
        )
    except services.CheckoutRateLimited as error:
        return str(error), 429
    except services.CheckoutRefused as error:
        return str(error), 200
    except PaymentError as error:
        logger.warning("fundraising: checkout could not start: %s", error)
        return str(error.user_message), 200
    response = HttpResponseRedirect(session.url)
    response.status_code = 303
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def tier_checkout(request, tier):
    tier = get_object_or_404(Tier.objects.offered(), slug=tier)
    initial_interval = request.GET.get("interval", Interval.MONTH)
    form = TierCheckoutForm(request.POST or None, tier=tier, initial={"interval": initial_interval})
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        interval = form.cleaned_data["interval"]
        choice = services.CheckoutChoice(
            tier=tier,
            interval=interval,
            amount=tier.amount_for(interval),
            currency=tier.currency,
            no_perks=form.cleaned_data.get("no_perks", False),
        )
        result = _start(request, choice)
        if not isinstance(result, tuple):
            return result
        error, status = result
    return render(
        request, "fundraising/checkout/tier.html", {"tier": tier, "form": form, "error": error}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def free_checkout(request):
    interval = request.GET.get("interval", Interval.MONTH)
    if interval not in Interval.values:
        raise Http404
    form = FreeAmountForm(request.POST or None, initial={"interval": interval})
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        choice = services.CheckoutChoice(
            tier=None,
            interval=form.cleaned_data["interval"],
            amount=form.cleaned_data["amount"],
            currency=form.cleaned_data["currency"],
        )
        result = _start(request, choice)
        if not isinstance(result, tuple):
            return result
        error, status = result
    return render(request, "fundraising/checkout/free.html", {"form": form, "error": error}, status=status)


@never_cache
def thanks(request):
    """Where Stripe sends the patron back. The payment is confirmed by the webhook, maybe a moment later."""
    session_id = request.GET.get("session_id", "")[:255]
    patronage = (
        Patronage.objects.filter(checkout_session_id=session_id).select_related("tier").first()
        if session_id
        else None
    )
    if patronage is None and session_id:
        messages.info(request, _("Your payment is being confirmed. This page updates in a moment."))
    return render(
        request, "fundraising/checkout/thanks.html", {"patronage": patronage, "session_id": session_id}
    )
