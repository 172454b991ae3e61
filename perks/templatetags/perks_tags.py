"""``{% patron_perks patron as perks %}``: a patron's entitlements with their perks, in one query."""

from django import template

from ..models import Entitlement

register = template.Library()


@register.simple_tag
def patron_perks(patron):
    if patron is None:
        return []
    return list(Entitlement.objects.filter(patron=patron).select_related("perk").order_by("perk__name"))
