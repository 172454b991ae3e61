"""Cache invalidation only: the annual report names payers and shows the personnel structure from the domain
apps, so a change of a consent, a name or a pay record shows on the next request, not after a day."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save

from . import cache

NAMED_FIELDS = ("annual_report_consent", "name", "public_name", "erased_at")


def _bump(sender, **kwargs) -> None:
    cache.bump()


def _patron_before(sender, instance, **kwargs) -> None:
    """A patron's row changes with every checkout; only a change of what the annual report shows counts."""
    if instance.pk is None:
        instance._report_fields = None
        return
    fields = [name for name in NAMED_FIELDS if hasattr(instance, name)]
    instance._report_fields = sender.objects.filter(pk=instance.pk).values_list(*fields).first()
    instance._report_field_names = fields


def _patron_after(sender, instance, created, **kwargs) -> None:
    before = getattr(instance, "_report_fields", None)
    if created or before is None:
        return
    now = tuple(getattr(instance, name) for name in instance._report_field_names)
    if now != tuple(before):
        cache.bump()


def connect() -> None:
    from fundraising.models import Patron
    from grants.models import Funder, PayRecord, Person
    from sponsors.models import Sponsor

    for model in (Sponsor, Funder, PayRecord, Person):
        post_save.connect(_bump, sender=model, dispatch_uid=f"reports-bump-{model._meta.label}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"reports-bump-delete-{model._meta.label}")
    pre_save.connect(_patron_before, sender=Patron, dispatch_uid="reports-patron-before")
    post_save.connect(_patron_after, sender=Patron, dispatch_uid="reports-patron-after")
