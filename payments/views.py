"""The Stripe webhook endpoint: verify, store, answer. Processing happens in a task."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .errors import InvalidSignature
from .services import webhook_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # the one exemption: Stripe signs the body instead (payments.signing)
@require_POST
def stripe_webhook(request):
    try:
        event, new = webhook_receive(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature", "")
        )
    except InvalidSignature as error:
        logger.warning("payments: webhook refused: %s", error)
        return HttpResponseBadRequest(f"Refused: {error}", content_type="text/plain")
    return HttpResponse("stored" if new else "already stored", content_type="text/plain")
