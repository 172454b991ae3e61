"""Donation receipt downloads under /support/receipts/ (names in the ``fundraising`` namespace)."""

from django.urls import path

from . import receipt_views

urlpatterns = [
    path("receipts/<str:number>.pdf", receipt_views.receipt_download, name="receipt_download"),
    path(
        "receipts/<str:number>/simplified.pdf",
        receipt_views.receipt_simplified_download,
        name="receipt_simplified_download",
    ),
]
