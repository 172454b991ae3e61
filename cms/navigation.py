"""What the header and footer link to, in the visitor's language.

Each function reads the page tree with one query and remembers its answer on the request and, while the
page tree is unchanged, for the whole process (see ``_memo``), so the header and footer together cost a
handful of queries once per change, whatever the number of pages. Nothing here
depends on who is logged in, so a page's HTML can be cached as a whole later.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse, translate_url
from django.utils.translation import get_language, get_language_info, gettext
from wagtail.models import Page, Site


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    is_current: bool = False  # the page being shown
    is_ancestor: bool = False  # the page being shown is below this one


@dataclass(frozen=True)
class LanguageLink:
    language_code: str
    name: str  # in its own language: "Deutsch", "English"
    url: str
    is_current: bool
    is_translation: bool  # False when the link falls back to that language's home page


# Answers shared by every request of this process while the page tree is unchanged: keyed by the page
# cache's version (cms/page_cache.py bumps it on every publish, move, deletion and saved navigation or
# site setting), so a change is seen by the next request. Read-only values; bounded by clearing.
_shared: dict[tuple, object] = {}
_SHARED_MAX = 2_000


def _shared_key(request: HttpRequest, key: str) -> tuple | None:
    from . import page_cache

    try:
        version = request.__dict__.get("_cms_navigation_version")
        if version is None:
            version = request.__dict__["_cms_navigation_version"] = page_cache.version()
        return (version, request.get_host(), key)
    except Exception:  # noqa: BLE001 - no shared cache (Redis down) or a bad host: compute per request
        return None


def _memo(request: HttpRequest | None, key: str, compute, *, shared: bool = True):
    """``compute()``'s answer, once per request; with ``shared``, once per process until the tree changes
    (only for answers that depend on nothing but the site, the language and the key)."""
    if request is None:
        return compute()
    cache = request.__dict__.setdefault("_cms_navigation", {})
    if key not in cache:
        shared_key = _shared_key(request, key) if shared else None
        if shared_key is not None and shared_key in _shared:
            cache[key] = _shared[shared_key]
        else:
            cache[key] = compute()
            if shared_key is not None:
                if len(_shared) >= _SHARED_MAX:
                    _shared.clear()
                _shared[shared_key] = cache[key]
    return cache[key]


def _active_language() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def site_for_request(request: HttpRequest | None) -> Site | None:
    if request is None:
        return Site.objects.filter(is_default_site=True).select_related("root_page").first()
    return Site.find_for_request(request)


def home_pages_by_language(request: HttpRequest | None) -> dict[str, Page]:
    """The live translations of the site's root page, keyed by language code (one query)."""

    def compute():
        site = site_for_request(request)
        if site is None:
            return {}
        homes = (
            Page.objects.filter(translation_key=site.root_page.translation_key)
            .live()
            .select_related("locale")
        )
        return {home.locale.language_code: home for home in homes}

    return _memo(request, "homes", compute)


def home_page(request: HttpRequest | None, language_code: str | None = None) -> Page | None:
    """The home page in the given (or active) language, else the site's root page."""
    homes = home_pages_by_language(request)
    language_code = language_code or _active_language()
    if language_code in homes:
        return homes[language_code]
    site = site_for_request(request)
    return site.root_page if site is not None else None


def main_menu(request: HttpRequest | None, current_page: Page | None = None) -> list[Link]:
    """Live, public pages under the active language's home page with “Show in menus” ticked, then the reports
    (plain views, not pages: the reason the site exists, so always in the menu)."""
    language_code = _active_language()

    def compute():
        home = home_page(request, language_code)
        if home is None:
            return []
        return list(home.get_children().live().public().in_menu())

    pages = _memo(request, f"menu:{language_code}", compute)
    current_path = getattr(current_page, "path", None) or ""
    links = [
        Link(
            label=page.title,
            url=page.get_url(request),
            is_current=current_path == page.path,
            is_ancestor=current_path != page.path and current_path.startswith(page.path),
        )
        for page in pages
    ]
    if pages:
        reports_url = reverse("reports:archive")
        request_path = getattr(request, "path", "") or ""
        links.append(
            Link(
                label=gettext("Reports"),
                url=reports_url,
                is_current=request_path == reports_url,
                is_ancestor=request_path != reports_url and request_path.startswith(reports_url),
            )
        )
    return links


def legal_pages(request: HttpRequest | None) -> dict[str, Page]:
    """The active language's imprint and privacy notice, keyed "imprint" and "privacy" (one query)."""
    from .models import ImprintPage, PrivacyPage

    language_code = _active_language()

    def compute():
        home = home_page(request, language_code)
        if home is None:
            return {}
        kinds = {
            ContentType.objects.get_for_model(ImprintPage).pk: "imprint",
            ContentType.objects.get_for_model(PrivacyPage).pk: "privacy",
        }
        pages = home.get_children().live().public().filter(content_type_id__in=kinds).order_by("path")
        found = {}
        for page in pages:
            found.setdefault(kinds[page.content_type_id], page)
        return found

    return _memo(request, f"legal:{language_code}", compute)


def footer_links(request: HttpRequest | None) -> list[Link]:
    """The imprint, the privacy notice, then the extra links from NavigationSettings, in the active language."""
    from .models import FooterLink, NavigationSettings

    language_code = _active_language()

    def compute():
        site = site_for_request(request)
        links = [
            Link(label=page.title, url=page.get_url(request))
            for kind, page in sorted(legal_pages(request).items())
            if kind in ("imprint", "privacy")
        ]
        if site is None:
            return links
        extra = (
            FooterLink.objects.filter(navigation__in=NavigationSettings.objects.filter(site=site))
            .filter(Q(locale__isnull=True) | Q(locale__language_code=language_code))
            .select_related("page")
            .order_by("sort_order")
        )
        # The linked pages' translations in the active language, all in one query.
        translation_keys = {link.page.translation_key for link in extra if link.page is not None}
        translations = {
            page.translation_key: page
            for page in Page.objects.live()
            .public()
            .filter(translation_key__in=translation_keys, locale__language_code=language_code)
        }
        for link in extra:
            if link.page is None:
                links.append(Link(label=link.label, url=link.url))
                continue
            page = translations.get(link.page.translation_key, link.page)
            if not page.live:
                continue
            links.append(Link(label=link.label or page.title, url=page.get_url(request)))
        return links

    return _memo(request, f"footer:{language_code}", compute)


def language_links(request: HttpRequest | None, page: Page | None = None) -> list[LanguageLink]:
    """One link per language: to the page's live translation, else to that language's home page.

    Outside Wagtail pages (log-in, 404) the same path is translated with Django's URL patterns.
    """
    current = _active_language()
    page_key = page.pk if isinstance(page, Page) else None

    def compute():
        translations = {}
        if page_key:
            translations = {
                translation.locale.language_code: translation
                for translation in page.get_translations(inclusive=True)
                .live()
                .public()
                .select_related("locale")
            }
        links = []
        for code, _name in settings.LANGUAGES:
            if code in translations:
                url, is_translation = translations[code].get_url(request), True
            elif isinstance(page, Page) or request is None:
                home = home_pages_by_language(request).get(code)
                url, is_translation = (home.get_url(request) if home is not None else "/"), False
            else:
                url, is_translation = translate_url(request.get_full_path(), code), True
            links.append(
                LanguageLink(
                    language_code=code,
                    name=get_language_info(code)["name_local"],
                    url=url,
                    is_current=code == current,
                    is_translation=is_translation,
                )
            )
        return links

    # Outside pages the links translate the request's own path: never shared between requests.
    return _memo(request, f"languages:{page_key}:{current}", compute, shared=page_key is not None)
