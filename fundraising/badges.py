"""Embeddable SVG badges in the shields.io style: ``/badges/patrons.svg`` and ``/badges/monthly.svg``.

Rendered on the server from templates/fundraising/badge.svg (Django's escaping makes any text safe XML),
cached with the other public figures and refreshed when they change. Browsers may keep a badge for ten
minutes. English by default; ``?lang=de`` gives German labels and number formats.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import public

BROWSER_CACHE_SECONDS = 600
VALUE_COLOUR = "#3730a3"  # white text on it: 10:1

# Approximate advance widths of Verdana at 11px, the badge font; anything not listed counts as 7.
NARROW = {
    **{"f": 3.9, "i": 3.0, "j": 3.8, "l": 3.0, "r": 4.7, "t": 4.3, "I": 4.6, "J": 5.0},
    **{" ": 3.9, ".": 4.0, ",": 4.0, ":": 4.7, ";": 4.7, "!": 4.6, "'": 3.0, "(": 5.5, ")": 5.5, "|": 5.0},
}
WIDE = {"m": 10.7, "w": 9.0, "M": 9.9, "W": 11.0, "%": 12.0, "@": 11.0}
UPPER = 8.0
DEFAULT = 7.0
PADDING = 10  # 5px either side


def text_width(text: str) -> int:
    """The width ``text`` takes in the badge font, estimated from its characters."""
    width = 0.0
    for character in text:
        if character in WIDE:
            width += WIDE[character]
        elif character in NARROW:
            width += NARROW[character]
        elif character.isupper():
            width += UPPER
        else:
            width += DEFAULT
    return round(width)


def badge_svg(*, label: str, value: str, colour: str = VALUE_COLOUR) -> str:
    label_text_width, value_text_width = text_width(label), text_width(value)
    label_width, value_width = label_text_width + PADDING, value_text_width + PADDING
    with translation.override("en"):  # numbers in the markup stay “12.5”, whatever the language
        return render_to_string(
            "fundraising/badge.svg",
            {
                "label": label,
                "value": value,
                "colour": colour,
                "width": str(label_width + value_width),
                "label_width": str(label_width),
                "label_corner_x": str(label_width - 4),  # squares the label's right-hand corners
                "value_width": str(value_width),
                "label_text_width": str(label_text_width),
                "value_text_width": str(value_text_width),
                "label_x": f"{label_width / 2:.1f}",
                "value_x": f"{label_width + value_width / 2:.1f}",
            },
        )


def _language(request: HttpRequest) -> str:
    requested = request.GET.get("lang", "")
    return requested if requested in dict(settings.LANGUAGES) else "en"


def patrons_svg(language: str) -> str:
    def build() -> str:
        with translation.override(language):
            figures = public.patron_figures()
            return badge_svg(label=_("patrons"), value=public.number_display(figures.active_patrons))

    return public.cached("badge-patrons", build, language=language)


def monthly_svg(language: str) -> str:
    def build() -> str:
        with translation.override(language):
            figures = public.patron_figures()
            value = public.money_display(public.whole(figures.monthly_income), "eur")
            return badge_svg(label=_("monthly"), value=value)

    return public.cached("badge-monthly", build, language=language)


def _svg_response(svg: str) -> HttpResponse:
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=BROWSER_CACHE_SECONDS)
    # Other sites embed the badge with <img>; say so, should a stricter default ever be set.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def patrons_badge(request: HttpRequest) -> HttpResponse:
    return _svg_response(patrons_svg(_language(request)))


@require_safe
def monthly_badge(request: HttpRequest) -> HttpResponse:
    return _svg_response(monthly_svg(_language(request)))
