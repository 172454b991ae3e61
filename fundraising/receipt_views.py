"""Donation receipt downloads.

The patron who owns a receipt (``Patron.user``) downloads it; finance staff (role and MFA, as
``accounts.access.finance_required``) download any. Everyone else gets 404, never 403, so a receipt
number reveals nothing. A receipt whose PDF is missing (demo data, a render task still queued) is
rendered on the spot and stored.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import finance_required, is_finance

from . import receipts
from .models import DonationReceipt


def _is_owner(user, receipt: DonationReceipt) -> bool:
    return user.is_authenticated and receipt.patron.user_id is not None and receipt.patron.user_id == user.pk


def _allowed(request, receipt: DonationReceipt, serve):
    """Serve to the owner, to finance (through finance_required: MFA first), 404 to everyone else."""
    if _is_owner(request.user, receipt):
        return serve(request)
    if is_finance(request.user):
        return finance_required(serve)(request)
    raise Http404


def _receipt(number: str) -> DonationReceipt:
    return get_object_or_404(
        DonationReceipt.objects.select_related("patron"), number=number, purged_at__isnull=True
    )


@require_GET
@never_cache
def receipt_download(request, number: str):
    receipt = _receipt(number)

    def serve(request):
        receipts.receipt_pdf_store(receipt=receipt)
        return FileResponse(
            receipt.pdf.open("rb"),
            as_attachment=True,
            filename=f"{receipt.number}.pdf",
            content_type="application/pdf",
        )

    return _allowed(request, receipt, serve)


@require_GET
@never_cache
def receipt_simplified_download(request, number: str):
    receipt = _receipt(number)
    if not receipts.simplified_receipt_available(receipt):
        raise Http404

    def serve(request):
        response = HttpResponse(
            receipts.receipt_simplified_pdf_render(receipt=receipt), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{receipt.number}-vereinfacht.pdf"'
        return response

    return _allowed(request, receipt, serve)
