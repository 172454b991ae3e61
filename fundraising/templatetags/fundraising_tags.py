"""Money in the visitor's language: ``{% money amount "eur" %}`` -> "5 €" (de) or "€5" (en).

One formatter for the whole site: ``fundraising.public.money_display`` (Babel, CLDR patterns).
"""

from decimal import Decimal

from django import template

from ..public import money_display

register = template.Library()


@register.simple_tag
def money(amount, currency="eur") -> str:
    if amount in (None, ""):
        return ""
    return money_display(Decimal(amount), currency)
