"""Cache invalidation for what the public sees of patrons (fundraising/public.py), and nothing else.

A change to a tier, a patron (listing choice, erasure) or a patronage bumps the public cache version at
once and again when the transaction commits, so a reader who raced the transaction does not keep the old
figures. ``connect()`` is called from ``FundraisingConfig.ready``; it is safe to call twice.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published, page_unpublished, published, unpublished

from . import public
from .models import Patron, Patronage, Tier


def public_figures_changed(**kwargs) -> None:
    public.cache_bump()
    transaction.on_commit(public.cache_bump)


def page_changed(sender, instance, **kwargs) -> None:
    """Pages that show patron figures say so with ``shows_patron_figures`` (the cms layer sits above us)."""
    if getattr(instance, "shows_patron_figures", False):
        public_figures_changed()


def connect() -> None:
    for model in (Tier, Patron, Patronage):
        name = model.__name__.lower()
        post_save.connect(
            public_figures_changed, sender=model, dispatch_uid=f"fundraising-public-{name}-saved"
        )
        post_delete.connect(
            public_figures_changed, sender=model, dispatch_uid=f"fundraising-public-{name}-deleted"
        )
    # Publishing and unpublishing save the tier too; these cover a publish that changes nothing else.
    published.connect(public_figures_changed, sender=Tier, dispatch_uid="fundraising-public-tier-published")
    unpublished.connect(
        public_figures_changed, sender=Tier, dispatch_uid="fundraising-public-tier-unpublished"
    )
    page_published.connect(page_changed, dispatch_uid="fundraising-public-page-published")
    page_unpublished.connect(page_changed, dispatch_uid="fundraising-public-page-unpublished")
