"""Factories for the public site's pages, settings and images.

Pages need a parent: pass `parent=` (the tree's root for a HomePage). `translate_page` makes and
publishes a translation the way an editor would with “Translate” in the admin.
"""

import io

import factory
from django.core.files.images import ImageFile
from django.utils.text import slugify
from PIL import Image as PillowImage
from wagtail.images import get_image_model
from wagtail.models import Locale, Page

from cms.models import ContentPage, HomePage, ImprintPage, PrivacyPage


def png_file(
    name: str = "picture.png", size: tuple[int, int] = (64, 48), colour: str = "#3730a3"
) -> ImageFile:
    buffer = io.BytesIO()
    PillowImage.new("RGB", size, colour).save(buffer, format="PNG")
    buffer.seek(0)
    return ImageFile(buffer, name=name)


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_image_model()

    title = factory.Sequence(lambda n: f"Picture {n}")
    file = factory.LazyFunction(png_file)


class PageFactory(factory.django.DjangoModelFactory):
    """Adds the page under `parent` (default: the tree's root) and publishes it."""

    class Meta:
        abstract = True

    title = factory.Sequence(lambda n: f"Page {n}")
    slug = factory.LazyAttribute(lambda page: slugify(page.title))

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        page = model_class(*args, **kwargs)
        (parent or Page.get_first_root_node()).add_child(instance=page)
        page.save_revision().publish()
        return page


class HomePageFactory(PageFactory):
    class Meta:
        model = HomePage

    title = "Home"
    slug = factory.Sequence(lambda n: f"home-{n}")
    hero_heading = "Social media that belongs to everyone"
    hero_intro = "We fund the people who build open-source social media."


class ContentPageFactory(PageFactory):
    class Meta:
        model = ContentPage

    intro = "A short lead paragraph."
    show_in_menus = True


class ImprintPageFactory(PageFactory):
    class Meta:
        model = ImprintPage

    title = "Imprint"


class PrivacyPageFactory(PageFactory):
    class Meta:
        model = PrivacyPage

    title = "Privacy notice"


def translate_page(page: Page, language_code: str, *, publish: bool = True, **fields) -> Page:
    """Copy `page` into the locale (its parent must be translated already), set `fields`, publish."""
    locale = Locale.objects.get(language_code=language_code)
    translation = page.copy_for_translation(locale).specific
    for name, value in fields.items():
        setattr(translation, name, value)
    translation.save()
    if publish:
        translation.save_revision().publish()
    return translation
