"""Where each page type may live in the tree, and what may live under it."""

import pytest
from wagtail.models import Page

from cms.models import (
    ContentPage,
    EmojiGalleryPage,
    GrantsPage,
    HomePage,
    ImprintPage,
    PatronUpdateIndexPage,
    PatronUpdatePage,
    PrivacyPage,
    SponsorsPage,
    SupportersPage,
    TiersPage,
)
from tests.factories.cms import ImprintPageFactory, PrivacyPageFactory

pytestmark = pytest.mark.django_db


def test_home_page_can_be_created_only_at_the_root(root, home, about):
    assert HomePage.can_create_at(root)
    assert not HomePage.can_create_at(home)
    assert not HomePage.can_create_at(about)


def test_home_page_allows_content_imprint_privacy_tiers_supporters_sponsors_grants_updates_and_emoji_pages_below_it():
    assert set(HomePage.allowed_subpage_models()) == {
        ContentPage,
        ImprintPage,
        PrivacyPage,
        TiersPage,
        SupportersPage,
        SponsorsPage,
        GrantsPage,
        PatronUpdateIndexPage,
        EmojiGalleryPage,
    }


def test_updates_live_only_under_their_index_and_have_no_subpages():
    assert PatronUpdateIndexPage.allowed_parent_page_models() == [HomePage]
    assert PatronUpdateIndexPage.allowed_subpage_models() == [PatronUpdatePage]
    assert PatronUpdatePage.allowed_parent_page_models() == [PatronUpdateIndexPage]
    assert PatronUpdatePage.allowed_subpage_models() == []


def test_content_page_lives_under_a_home_page_or_another_content_page(root, home, about):
    assert ContentPage.can_create_at(home)
    assert ContentPage.can_create_at(about)
    assert not ContentPage.can_create_at(root)
    assert set(ContentPage.allowed_parent_page_models()) == {HomePage, ContentPage}


def test_content_page_allows_only_content_pages_below_it():
    assert ContentPage.allowed_subpage_models() == [ContentPage]


@pytest.mark.parametrize("model", [ImprintPage, PrivacyPage])
def test_legal_pages_live_only_directly_under_a_home_page(model, root, home, about):
    assert model.can_create_at(home)
    assert not model.can_create_at(about)
    assert not model.can_create_at(root)
    assert model.allowed_parent_page_models() == [HomePage]


@pytest.mark.parametrize("model", [ImprintPage, PrivacyPage])
def test_legal_pages_have_no_subpages(model):
    assert model.allowed_subpage_models() == []


@pytest.mark.parametrize("factory", [ImprintPageFactory, PrivacyPageFactory])
def test_each_home_page_has_at_most_one_imprint_and_one_privacy_notice(factory, home):
    factory(parent=home)

    assert not factory._meta.model.can_create_at(home)


def test_every_site_page_type_declares_its_parents_and_subpages():
    for model in (
        HomePage,
        ContentPage,
        ImprintPage,
        PrivacyPage,
        PatronUpdateIndexPage,
        PatronUpdatePage,
        EmojiGalleryPage,
        GrantsPage,
    ):
        declared = {name for klass in model.__mro__ if klass is not Page for name in vars(klass)}
        assert {"parent_page_types", "subpage_types"} <= declared, model


def test_grants_page_lives_only_directly_under_a_home_page_once_and_has_no_subpages(root, home, about):
    assert GrantsPage.allowed_parent_page_models() == [HomePage]
    assert GrantsPage.allowed_subpage_models() == []
    assert GrantsPage.can_create_at(home)
    assert not GrantsPage.can_create_at(about)
    assert not GrantsPage.can_create_at(root)

    home.add_child(instance=GrantsPage(title="Grants", slug="grants"))

    assert not GrantsPage.can_create_at(home)
