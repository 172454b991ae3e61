"""The blocks editors build page bodies from. Every block renders with a template in templates/cms/blocks/."""

from decimal import Decimal

from babel.numbers import format_percent
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

from .figures import figure_choices, figure_template

RICH_TEXT_FEATURES = ["bold", "italic", "link", "document-link", "ol", "ul", "h3", "h4"]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Text"), max_length=200)
    level = blocks.ChoiceBlock(
        label=_("Level"),
        choices=[("h2", _("Section heading (h2)")), ("h3", _("Subheading (h3)"))],
        default="h2",
        help_text=_("Use a subheading only below a section heading, so the outline stays in order."),
    )

    class Meta:
        icon = "title"
        label = _("Heading")
        template = "cms/blocks/heading.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["anchor"] = slugify(value.get("text", ""))
        return context


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        max_length=250,
        help_text=_("Describe what the image shows for people who cannot see it."),
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False, max_length=250)

    class Meta:
        icon = "image"
        label = _("Image")
        template = "cms/blocks/image.html"


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock(label=_("Quote"))
    attribution = blocks.CharBlock(
        label=_("Attribution"), required=False, max_length=200, help_text=_("Who said it, and in what role.")
    )

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "cms/blocks/quote.html"


class CallToActionValue(blocks.StructValue):
    def url(self) -> str:
        """The linked page in the visitor's language when it is translated, else the given URL."""
        page = self.get("link_page")
        if page is not None:
            return page.localized.url or ""
        return self.get("link_url") or ""


class CallToActionBlock(blocks.StructBlock):
    title = blocks.CharBlock(label=_("Title"), max_length=120)
    text = blocks.TextBlock(label=_("Text"), required=False)
    button_label = blocks.CharBlock(label=_("Button label"), max_length=60)
    link_page = blocks.PageChooserBlock(label=_("Link to a page"), required=False)
    link_url = blocks.URLBlock(label=_("…or to a URL"), required=False)

    class Meta:
        icon = "pick"
        label = _("Call to action")
        template = "cms/blocks/call_to_action.html"
        value_class = CallToActionValue

    def clean(self, value):
        value = super().clean(value)
        if bool(value.get("link_page")) == bool(value.get("link_url")):
            message = _("Choose either a page or a URL for the button, not both and not neither.")
            raise blocks.StructBlockValidationError(
                block_errors={"link_page": ValidationError(message), "link_url": ValidationError(message)}
            )
        return value


class FigureValue(blocks.StructValue):
    def figure_template(self) -> str | None:
        return figure_template(self.get("figure") or "")


class FigureBlock(blocks.StructBlock):
    """A figure with a caption and an optional long description: an uploaded image or a built-in diagram."""

    image = ImageChooserBlock(label=_("Image"), required=False)
    figure = blocks.ChoiceBlock(
        label=_("…or a built-in diagram"),
        choices=figure_choices,
        required=False,
    )
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        max_length=250,
        help_text=_("A short text alternative: what the figure shows, in one sentence."),
    )
    caption = blocks.CharBlock(label=_("Caption"), max_length=250)
    long_description = blocks.TextBlock(
        label=_("Long description"),
        required=False,
        help_text=_("The full content of a chart or diagram in words, for people who cannot see it."),
    )

    class Meta:
        icon = "image"
        label = _("Figure")
        template = "cms/blocks/figure.html"
        value_class = FigureValue

    def clean(self, value):
        value = super().clean(value)
        if bool(value.get("image")) == bool(value.get("figure")):
            message = _("Choose either an image or a built-in diagram, not both and not neither.")
            raise blocks.StructBlockValidationError(
                block_errors={"image": ValidationError(message), "figure": ValidationError(message)}
            )
        return value


class PatronStatsBlock(blocks.StructBlock):
    """Active patrons, monthly recurring income (yearly plans as 1/12) and progress toward a monthly goal.

    The figures come from fundraising/public.py, cached and refreshed when a patronage changes. The goal
    is an editorial target, not money held.
    """

    heading = blocks.CharBlock(label=_("Heading"), required=False, max_length=120)
    monthly_goal = blocks.DecimalBlock(
        label=_("Monthly goal (EUR)"),
        min_value=1,
        max_digits=12,
        decimal_places=2,
        help_text=_("The monthly recurring income the progress bar counts toward."),
    )
    goal_text = blocks.TextBlock(
        label=_("What the goal pays for"), required=False, help_text=_("One or two sentences under the bar.")
    )

    class Meta:
        icon = "pick"
        label = _("Patron figures")
        template = "cms/blocks/patron_stats.html"

    def get_context(self, value, parent_context=None):
        from fundraising import public

        context = super().get_context(value, parent_context=parent_context)
        figures = public.patron_figures()
        goal = value.get("monthly_goal") or Decimal("1")
        income = figures.monthly_income
        percent = int(income * 100 / goal)
        context.update(
            active_patrons=public.number_display(figures.active_patrons),
            monthly_income=public.money_display(public.whole(income), "eur"),
            goal=public.money_display(public.whole(goal), "eur"),
            percent=percent,
            percent_display=format_percent(Decimal(percent) / 100, locale=public.active_language()),
            progress_value=str(min(income, goal)),
            progress_max=str(goal),
        )
        return context


class BodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        label=_("Text"),
        features=RICH_TEXT_FEATURES,
        icon="pilcrow",
        template="cms/blocks/rich_text.html",
    )
    image = ImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    figure = FigureBlock()
    patron_stats = PatronStatsBlock()

    class Meta:
        template = "cms/blocks/body.html"
