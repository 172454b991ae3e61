"""The public emoji gallery: approved emoji with their shortcodes, and the patrons who chose to be named."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from cms.models import EmojiGalleryPage, HomePage
from fundraising.models import Patron
from perks.models import Emoji
from tests.factories.cms import png_file
from tests.factories.fundraising import PatronFactory

pytestmark = pytest.mark.django_db


def add_page(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def gallery(home):
    return add_page(home, EmojiGalleryPage(title="Custom emoji", slug="emoji"))


def emoji(shortcode: str, *, patron=None, status=Emoji.Status.APPROVED) -> Emoji:
    item = Emoji(
        patron=patron or PatronFactory(),
        shortcode=shortcode,
        image_format="png",
        width=64,
        height=64,
        status=status,
    )
    item.image.save(f"{shortcode}.png", ContentFile(png_file(size=(64, 64)).read()), save=False)
    item.save()
    return item


def gallery_html(client, gallery) -> str:
    response = client.get(gallery.url)
    assert response.status_code == 200
    return response.content.decode()


def test_gallery_shows_approved_emoji_only(client, gallery):
    emoji("blobcat")
    emoji("waiting_one", status=Emoji.Status.PENDING)
    emoji("refused", status=Emoji.Status.REJECTED)
    emoji("taken_back", status=Emoji.Status.WITHDRAWN)

    html = gallery_html(client, gallery)

    assert ":blobcat:" in html
    for shortcode in ("waiting_one", "refused", "taken_back"):
        assert shortcode not in html


def test_each_emoji_image_has_its_shortcode_as_alt_text(client, gallery):
    item = emoji("fediverse_heart")

    html = gallery_html(client, gallery)

    assert f'src="{item.image.url}" alt=":fediverse_heart:"' in html


def test_gallery_names_only_patrons_who_chose_to_be_named(client, gallery):
    emoji(
        "named", patron=PatronFactory(name="Ada Lovelace", listing=Patron.Listing.NAME, public_name="Ada L.")
    )
    emoji(
        "handle",
        patron=PatronFactory(listing=Patron.Listing.HANDLE, fediverse_handle="@grace@hopper.social"),
    )
    emoji("quiet", patron=PatronFactory(name="Quiet Person", listing=Patron.Listing.ANONYMOUS))
    emoji(
        "gone",
        patron=PatronFactory(
            name="Erased Person", listing=Patron.Listing.NAME, public_name="Erased", erased_at=timezone.now()
        ),
    )

    html = gallery_html(client, gallery)

    assert "Ada L." in html
    assert 'href="https://hopper.social/@grace"' in html
    assert "@grace@hopper.social" in html
    assert "Quiet Person" not in html
    assert "Erased" not in html
    assert ":quiet:" in html and ":gone:" in html  # the emoji themselves still show


def test_gallery_loads_emoji_and_patrons_in_one_query(client, gallery, django_assert_max_num_queries):
    for number in range(12):
        emoji(f"emoji_{number}", patron=PatronFactory(listing=Patron.Listing.NAME, public_name=f"P{number}"))
    client.get(gallery.url)  # warm Wagtail's site and settings caches

    # The page around the gallery (site, menus, footer) takes about 20 queries whatever the emoji.
    with django_assert_max_num_queries(25) as captured:
        html = gallery_html(client, gallery)

    emoji_queries = [
        query["sql"]
        for query in captured.captured_queries
        if "perks_emoji" in query["sql"] or "fundraising_patron" in query["sql"]
    ]
    assert len(emoji_queries) == 1
    assert html.count('class="emoji-card"') == 12
    assert "P11" in html


def test_gallery_lists_emoji_by_shortcode(client, gallery):
    emoji("zebra")
    emoji("Apple")
    emoji("mango")

    html = gallery_html(client, gallery)

    assert html.index(":Apple:") < html.index(":mango:") < html.index(":zebra:")


def test_gallery_lives_once_under_a_home_page(home, gallery):
    assert EmojiGalleryPage.allowed_parent_page_models() == [HomePage]
    assert EmojiGalleryPage.allowed_subpage_models() == []
    assert not EmojiGalleryPage.can_create_at(home)
