"""Money in the visitor's language: ``{% money amount "eur" %}`` -> "5,00 €" (de) or "€5.00" (en), via Babel."""

from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag
def money(amount, currency="eur") -> str:
    if amount in (None, ""):
        return ""
    locale = "de_DE" if (get_language() or "en").startswith("de") else "en_IE"
    return format_currency(Decimal(amount), currency.upper(), locale=locale)
