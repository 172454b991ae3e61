"""Each body block renders with its own template; links and figures behave as editors expect."""

import pytest
from django.template.loader import get_template
from django.utils import translation
from wagtail.blocks import StreamValue, StructBlockValidationError

from cms.blocks import BodyBlock
from tests.factories.cms import ImageFactory

BODY = BodyBlock()


def render(block_name: str, raw: dict | str) -> str:
    block = BODY.child_blocks[block_name]
    return block.render(block.to_python(raw))


def test_every_block_has_a_template_that_exists():
    for name, block in BODY.child_blocks.items():
        assert block.meta.template, name
        get_template(block.meta.template)
    get_template(BODY.meta.template)


def test_heading_renders_at_its_level_with_an_anchor():
    assert render("heading", {"text": "Where the money goes", "level": "h3"}) == (
        '<h3 class="block-heading" id="where-the-money-goes">Where the money goes</h3>\n'
    )


def test_heading_defaults_to_a_section_heading():
    assert "<h2" in render("heading", {"text": "Why we exist"})


def test_rich_text_renders_inside_its_wrapper():
    html = render("paragraph", "<p>We fund <b>open source</b>.</p>")

    assert html.strip() == '<div class="block-rich-text rich-text"><p>We fund <b>open source</b>.</p></div>'


@pytest.mark.django_db
def test_image_renders_with_its_alt_text_and_caption():
    image = ImageFactory()

    html = render(
        "image", {"image": image.pk, "alt_text": "Two people at a laptop", "caption": "Hack day 2025"}
    )

    assert '<figure class="block-image">' in html
    assert 'alt="Two people at a laptop"' in html
    assert "<figcaption>Hack day 2025</figcaption>" in html


def test_image_requires_alt_text():
    block = BODY.child_blocks["image"]

    assert block.child_blocks["alt_text"].required


def test_quote_renders_as_a_blockquote_with_attribution():
    html = render("quote", {"quote": "Public money, public code.", "attribution": "Lena Hoffmann"})

    assert "<blockquote>\n    <p>Public money, public code.</p>\n  </blockquote>" in html
    assert "<figcaption>— Lena Hoffmann</figcaption>" in html


def test_call_to_action_links_to_a_url():
    html = render(
        "call_to_action",
        {
            "title": "Support us",
            "text": "Every euro counts.",
            "button_label": "Donate",
            "link_url": "https://example.org/",
        },
    )

    assert '<h2 class="block-cta__title">Support us</h2>' in html
    assert '<a class="button button--large" href="https://example.org/">Donate</a>' in html


@pytest.mark.django_db
def test_call_to_action_links_to_the_page_in_the_visitors_language(about, german_about):
    with translation.override("de"):
        html = render("call_to_action", {"title": "Mehr", "button_label": "Über uns", "link_page": about.pk})

    assert 'href="/de/ueber-uns/"' in html


def test_call_to_action_needs_a_link():
    block = BODY.child_blocks["call_to_action"]
    value = block.to_python({"title": "Support us", "button_label": "Donate"})

    with pytest.raises(StructBlockValidationError) as error:
        block.clean(value)

    assert "Choose either a page or a URL" in str(error.value.block_errors["link_url"])


@pytest.mark.django_db
def test_call_to_action_cannot_link_to_a_page_and_a_url(about):
    block = BODY.child_blocks["call_to_action"]
    value = block.to_python(
        {
            "title": "Support us",
            "button_label": "Donate",
            "link_page": about.pk,
            "link_url": "https://example.org/",
        }
    )

    with pytest.raises(StructBlockValidationError) as error:
        block.clean(value)

    assert "not both" in str(error.value.block_errors["link_page"])


def test_figure_renders_a_built_in_diagram_with_caption_and_long_description():
    html = render(
        "figure",
        {
            "figure": "funding-flow",
            "alt_text": "How our money flows",
            "caption": "All money flows through one ledger.",
            "long_description": "Patrons, sponsors and grants pay in.",
        },
    )

    assert 'aria-label="How our money flows"' in html
    assert "Our gGmbH" in html
    assert "<figcaption>All money flows through one ledger.</figcaption>" in html
    assert "<summary>Long description of this figure</summary>" in html
    assert "<p>Patrons, sponsors and grants pay in.</p>" in html


def test_figure_renders_an_html_table_figure():
    html = render("figure", {"figure": "tax-spheres", "alt_text": "Tax spheres", "caption": "Four spheres."})

    assert 'role="group" aria-label="Tax spheres"' in html
    assert "Taxable business" in html
    assert "<details" not in html


@pytest.mark.django_db
def test_figure_renders_an_uploaded_image_with_its_alt_text():
    image = ImageFactory()

    html = render(
        "figure", {"image": image.pk, "alt_text": "A bar chart of income", "caption": "Income 2025"}
    )

    assert 'alt="A bar chart of income"' in html
    assert "<figcaption>Income 2025</figcaption>" in html


def test_figure_needs_either_an_image_or_a_diagram():
    block = BODY.child_blocks["figure"]
    value = block.to_python({"alt_text": "Nothing", "caption": "Empty"})

    with pytest.raises(StructBlockValidationError) as error:
        block.clean(value)

    assert "Choose either an image or a built-in diagram" in str(error.value.block_errors["figure"])


def test_figure_offers_only_diagrams_from_the_built_in_list():
    block = BODY.child_blocks["figure"]

    assert [key for key, _label in block.child_blocks["figure"].field.choices if key] == [
        "funding-flow",
        "tax-spheres",
    ]


def test_body_renders_its_blocks_in_order():
    value = StreamValue(
        BODY,
        [("heading", {"text": "First", "level": "h2"}), ("quote", {"quote": "Second", "attribution": ""})],
    )

    html = BODY.render(value)

    assert html.index("First") < html.index("Second")
