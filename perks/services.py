"""Entitlements follow the money: derived from each patronage, kept current by webhooks and a periodic task.

``entitlements_sync(patronage=…)`` computes, for every perk of the patronage's tier, the state it should
have now and records any change with its reason. It is idempotent and order-free: the webhook handler and
the periodic task may run it in any order, any number of times, with the same result.

- perk tier, subscription active (or trialing): **active**
- payment overdue (past_due / unpaid) within the grace period (``PATRON_GRACE_DAYS``): **active**
- payment overdue after the grace period, or paused: **suspended** (comes back with the next payment)
- ended (canceled, incomplete_expired), a donation ("no perks"), or the perk no longer on the tier: **ended**
- a subscription not paid yet (incomplete): nothing granted
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from fundraising.models import Kind, Patronage

from .models import Entitlement, EntitlementChange, PerkTier

logger = logging.getLogger(__name__)

ENDED_STATUSES = {Patronage.Status.CANCELED, Patronage.Status.INCOMPLETE_EXPIRED, Patronage.Status.FAILED}
OVERDUE_STATUSES = {Patronage.Status.PAST_DUE, Patronage.Status.UNPAID}


def desired_state(*, patronage: Patronage, now: datetime.datetime) -> tuple[str | None, str]:
    """(state, reason) the patronage's perks should be in now; state None means: grant nothing yet."""
    if patronage.kind != Kind.PERK:
        return Entitlement.State.ENDED, "support is a donation without perks"
    if patronage.status in ENDED_STATUSES:
        return Entitlement.State.ENDED, f"support ended ({patronage.status})"
    if patronage.status == Patronage.Status.INCOMPLETE:
        return None, "first payment not made yet"
    if patronage.status in (Patronage.Status.ACTIVE, Patronage.Status.TRIALING):
        return Entitlement.State.ACTIVE, "support is active"
    if patronage.status in OVERDUE_STATUSES:
        if patronage.perks_active(now=now):
            return Entitlement.State.ACTIVE, "payment overdue, within the grace period"
        return Entitlement.State.SUSPENDED, "payment overdue, grace period over"
    if patronage.status == Patronage.Status.PAUSED:
        return Entitlement.State.SUSPENDED, "support paused"
    return Entitlement.State.ENDED, f"unexpected status {patronage.status}"


def entitlements_sync(
    *, patronage: Patronage, source: str, now: datetime.datetime | None = None
) -> list[Entitlement]:
    """Bring the entitlements of one patronage in line with its state. Returns those that changed."""
    now = now or timezone.now()
    changed = []
    with transaction.atomic():
        patronage = (
            Patronage.objects.select_for_update(of=("self",)).select_related("tier").get(pk=patronage.pk)
        )
        state, reason = desired_state(patronage=patronage, now=now)
        links = (
            {link.perk_id: link for link in PerkTier.objects.filter(tier=patronage.tier, perk__active=True)}
            if patronage.tier_id
            else {}
        )
        existing = {entitlement.perk_id: entitlement for entitlement in patronage.entitlements.all()}
        for perk_id in existing.keys() | links.keys():
            entitlement = existing.get(perk_id)
            link = links.get(perk_id)
            target, why = (
                (state, reason) if link is not None else (Entitlement.State.ENDED, "perk not on the tier")
            )
            if entitlement is None:
                if target != Entitlement.State.ACTIVE:
                    continue  # never granted: nothing to record
                entitlement = Entitlement.objects.create(
                    patron_id=patronage.patron_id,
                    patronage=patronage,
                    perk_id=perk_id,
                    state=target,
                    emoji_allowance=link.emoji_allowance,
                    granted_at=now,
                    changed_at=now,
                )
                EntitlementChange.objects.create(
                    entitlement=entitlement, from_state="", to_state=target, reason=why, source=source, at=now
                )
                changed.append(entitlement)
                continue
            if target is None:
                continue
            allowance = link.emoji_allowance if link is not None else entitlement.emoji_allowance
            if entitlement.state == target and entitlement.emoji_allowance == allowance:
                continue
            if entitlement.state == Entitlement.State.ENDED and target != Entitlement.State.ENDED:
                why = f"granted again: {why}"
            EntitlementChange.objects.create(
                entitlement=entitlement,
                from_state=entitlement.state,
                to_state=target,
                reason=why
                if entitlement.state != target
                else f"allowance {entitlement.emoji_allowance} → {allowance}",
                source=source,
                at=now,
            )
            entitlement.state, entitlement.emoji_allowance, entitlement.changed_at = target, allowance, now
            entitlement.save(update_fields=["state", "emoji_allowance", "changed_at"])
            changed.append(entitlement)
    return changed


def entitlements_sync_all(*, source: str = "periodic task", now: datetime.datetime | None = None) -> int:
    """The periodic pass: every perk patronage that is running or has entitlements. Returns changes made."""
    now = now or timezone.now()
    candidates = Patronage.objects.filter(kind=Kind.PERK).exclude(
        status__in=ENDED_STATUSES
    ) | Patronage.objects.filter(
        entitlements__state__in=(Entitlement.State.ACTIVE, Entitlement.State.SUSPENDED)
    )
    count = 0
    for patronage in candidates.distinct().only("pk").iterator():
        count += len(entitlements_sync(patronage=patronage, source=source, now=now))
    return count


def has_perk(*, user, kind: str) -> bool:
    """Whether the logged-in person holds an active perk of this kind now."""
    return Entitlement.objects.for_user(user).active().of_kind(kind).exists()


def emoji_allowance(*, patron) -> int:
    """How many emoji the patron may have: the largest allowance of their active emoji entitlements."""
    allowances = (
        Entitlement.objects.filter(patron=patron)
        .active()
        .of_kind("emoji")
        .values_list("emoji_allowance", flat=True)
    )
    return max(allowances, default=0)


def patron_perk_data_erase(patron) -> None:
    """On erasure (GDPR): the patron's emoji leave the gallery and the pack, their files are deleted after
    commit, and the private feed link stops working. Entitlements stay (they carry no personal data)."""
    from .models import Emoji, FeedToken

    emoji = list(Emoji.objects.filter(patron=patron))
    Emoji.objects.filter(patron=patron).update(status=Emoji.Status.WITHDRAWN, image="")
    FeedToken.objects.filter(patron=patron).delete()

    def delete_files():
        for item in emoji:
            if item.image:
                item.image.storage.delete(item.image.name)

    transaction.on_commit(delete_files)


def patron_perk_data_export(patron) -> dict:
    """The patron's perks for the data export: entitlements with their history, emoji, feed link."""
    from .models import Emoji, Entitlement, EntitlementChange

    entitlements = Entitlement.objects.filter(patron=patron).select_related("perk").order_by("pk")
    changes = EntitlementChange.objects.filter(entitlement__patron=patron).order_by("at", "pk")
    history: dict[int, list] = {}
    for change in changes:
        history.setdefault(change.entitlement_id, []).append(
            {
                "at": change.at.isoformat(),
                "from": change.from_state,
                "to": change.to_state,
                "reason": change.reason,
            }
        )
    return {
        "entitlements": [
            {
                "perk": entitlement.perk.name,
                "state": entitlement.state,
                "granted_at": entitlement.granted_at.isoformat(),
                "history": history.get(entitlement.pk, []),
            }
            for entitlement in entitlements
        ],
        "emoji": [
            {"shortcode": emoji.shortcode, "status": emoji.status, "uploaded": emoji.created.isoformat()}
            for emoji in Emoji.objects.filter(patron=patron).order_by("pk")
        ],
        "private_feed": hasattr(patron, "feed_token"),
    }
