"""Figures that editors can place on a page without uploading anything: diagrams drawn in SVG or HTML.

They come from this fixed list (never from an outside URL), each with a template in
templates/cms/figures/. To add one, add a `Figure` here and its template.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Figure:
    key: str
    label: str | Promise
    template: str


FIGURES = (
    Figure("funding-flow", _("Diagram: how the money flows"), "cms/figures/funding_flow.html"),
    Figure("tax-spheres", _("Table: the four tax spheres of a gGmbH"), "cms/figures/tax_spheres.html"),
)


def figure_choices() -> list[tuple[str, str | Promise]]:
    return [(figure.key, figure.label) for figure in FIGURES]


def figure_template(key: str) -> str | None:
    return next((figure.template for figure in FIGURES if figure.key == key), None)
