"""Named file storages that models refer to by a callable (so tests can move them)."""

from django.core.files.storage import storages


def private_storage():
    """Receipts, invoices, confirmations: restricted storage, never served from MEDIA_URL."""
    return storages["private"]
