"""Whole public pages for visitors who are not logged in, served without rendering.

A news spike brings thousands of visitors who are not logged in and who all see the same HTML: the page
tree, the tier cards, the sponsors, the supporters wall and the published reports. Rendering that HTML
costs 20–400 ms a request; serving a copy costs well under one (docs/performance.md).

**What is kept.** A response is kept only when all of these hold:

- the request is a GET without a query string, from a visitor without a session or pending messages
  (no ``sessionid`` or ``messages`` cookie), so nobody's own state can end up in the copy;
- the view opted in: every Wagtail page, and the views wrapped in :func:`public_page` (the reports);
- the answer is a 200 that sets no cookie (a page with a form sets the CSRF cookie, so it is never kept)
  and is not marked ``private``, ``no-cache`` or ``no-store`` (drafts, patron-only updates).

**When it is renewed.** The key holds every version number the public pages are built from: the page
tree and settings (bumped here on any publish, unpublish, move or delete, and on any saved row of the
cms, perks and Wagtail apps), the patron figures (``fundraising.public``), the sponsor placements
(``sponsors.signals``), the grants (``grants.signals``) and the reports (``reports.cache``), plus the day
(placements and gifts run by date). A change anywhere makes a new key; old copies simply expire.
``PAGE_CACHE_SECONDS`` bounds how long a change made behind the signals' back (a bulk ``update()``) stays
unseen, and 0 turns the cache off.

**Where the copy lives.** The version numbers are read from the shared cache (Redis) with one round trip,
at most once a second per process (``PAGE_CACHE_VERSION_SECONDS``); the HTML comes from this process's memory when it has it (keyed by the same versions, so it
can never be stale), else from the shared cache. A path whose answer was not kept last time (the checkout,
the API) is not looked up before rendering.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_max_age
from django.utils.functional import SimpleLazyObject

logger = logging.getLogger(__name__)

VERSION_KEY = "cms:pages:version"
KEY_PREFIX = "cms:page:"
MAX_PATH_LENGTH = 300
HEADER = "X-Page-Cache"  # "hit" on a copy, for the benchmark and for whoever debugs a stale page

# Responses carry this attribute when their view allows a shared copy (Wagtail's serve view is allowed
# by name, see _view_allows).
OPT_IN_ATTRIBUTE = "public_page_cache"

_KEPT_HEADERS_SKIPPED = {"set-cookie", "content-length", HEADER.lower()}


# --- Versions -----------------------------------------------------------------------------------------


def version_read(key: str) -> str:
    """The version stored under ``key``, made (once, whoever races) if there is none yet. The scheme every
    public cache uses: a key includes the version, a change stores a new one, old entries expire."""
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex, None)
        value = cache.get(key)
    return value


def version() -> str:
    return version_read(VERSION_KEY)


def bump(**kwargs) -> None:
    """Make every kept page stale (a signal receiver, hence ``**kwargs``)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    _digest_memo.update(value=None, until=0.0)


def _version_sources() -> list[tuple[str, Callable[[], str]]]:
    from fundraising import public as fundraising_public
    from grants import signals as grants_signals
    from reports import cache as reports_cache
    from sponsors import signals as sponsors_signals

    return [
        (VERSION_KEY, version),
        (fundraising_public.VERSION_KEY, fundraising_public.cache_version),
        (sponsors_signals.VERSION_KEY, sponsors_signals.placement_cache_version),
        (grants_signals.VERSION_KEY, grants_signals.public_grants_cache_version),
        (reports_cache.VERSION_KEY, reports_cache.version),
    ]


_sources = SimpleLazyObject(_version_sources)


_digest_memo: dict[str, object] = {"value": None, "until": 0.0}


def versions_digest() -> str:
    """One short digest of every version the public pages depend on, read in one round trip.

    Remembered by this process for ``PAGE_CACHE_VERSION_SECONDS`` (1 s in production): reading it costs
    more than serving the page itself (Django's Redis client is built anew for every call), and a change
    made in another process then shows within that second. A change made in this process through
    ``bump`` shows at once."""
    seconds = getattr(settings, "PAGE_CACHE_VERSION_SECONDS", 0)
    now = time.monotonic()
    value = _digest_memo["value"]
    if seconds and value is not None and now < _digest_memo["until"]:
        return value
    keys = [key for key, _getter in _sources]
    found = cache.get_many(keys)
    values = [found.get(key) or getter() for key, getter in _sources]
    value = hashlib.blake2b("|".join(map(str, values)).encode(), digest_size=12).hexdigest()
    _digest_memo.update(value=value, until=now + seconds)
    return value


# --- Which requests and responses ----------------------------------------------------------------------


def public_page(view):
    """Allow a shared copy of this view's answers (still only under the conditions in the module's doc)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        setattr(response, OPT_IN_ATTRIBUTE, True)
        return response

    return wrapper


def request_is_anonymous_get(request: HttpRequest) -> bool:
    if request.method != "GET" or request.META.get("QUERY_STRING"):
        return False
    if len(request.path) > MAX_PATH_LENGTH:
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and "messages" not in cookies


def _view_allows(request: HttpRequest, response: HttpResponse) -> bool:
    if getattr(response, OPT_IN_ATTRIBUTE, False):
        return True
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "wagtail_serve"


def response_is_shareable(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if not _view_allows(request, response):
        return False
    cache_control = response.get("Cache-Control", "").lower()
    if any(word in cache_control for word in ("private", "no-cache", "no-store")):
        return False
    max_age = get_max_age(response)
    return max_age is None or max_age > 0


def page_key(request: HttpRequest) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    path_digest = hashlib.blake2b(f"{host}{request.path}".encode(), digest_size=16).hexdigest()
    return f"{KEY_PREFIX}{versions_digest()}:{timezone.localdate().isoformat()}:{path_digest}"


# --- This process's copies ------------------------------------------------------------------------------


class _LocalCopies:
    """The last pages this process served, up to a byte budget (least recently used go first)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        size = len(entry[1])
        if size > self.max_bytes:
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = entry
            self.size += size
            while self.size > self.max_bytes:
                _key, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped[1])

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


_local = _LocalCopies(max_bytes=32 * 1024 * 1024)
# What this process learned about each path: True when its answer was kept, False when it was not (the
# trivial view, a 404, the checkout). Known-unkept paths skip the version lookup before rendering.
_paths: dict[str, bool] = {}
_MAX_PATHS = 10_000


def reset_process_state() -> None:
    """Forget this process's copies, paths and navigation (tests)."""
    from . import navigation

    _local.clear()
    _paths.clear()
    _digest_memo.update(value=None, until=0.0)
    navigation._shared.clear()


def _entry(response: HttpResponse) -> tuple:
    headers = [(name, value) for name, value in response.items() if name.lower() not in _KEPT_HEADERS_SKIPPED]
    return (response.status_code, bytes(response.content), headers)


def _response(entry: tuple) -> HttpResponse:
    status, content, headers = entry
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    response[HEADER] = "hit"
    return response


# --- The middleware -----------------------------------------------------------------------------------


class AnonymousPageCacheMiddleware:
    """Placed after the security, static-file and CSP middleware, before sessions: a copy skips the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = getattr(settings, "PAGE_CACHE_SECONDS", 0)
        if not timeout or not request_is_anonymous_get(request):
            return self.get_response(request)
        try:
            return self._serve(request, timeout)
        except _CacheUnavailable:
            return self.get_response(request)

    def _serve(self, request: HttpRequest, timeout: int) -> HttpResponse:
        known = _paths.get(request.path)
        # The key is read before rendering, so a change made while the page renders leads to a new key
        # rather than to an old rendering kept under the new one.
        key = _shared(page_key, request) if known is not False else None
        if known and key is not None:
            entry = _local.get(key)
            if entry is None:
                entry = _shared(cache.get, key)
                if entry is not None:
                    _local.put(key, entry)
            if entry is not None:
                return _response(entry)
        response = self.get_response(request)
        shareable = response_is_shareable(request, response)
        if shareable:
            try:
                key = key or _shared(page_key, request)
                if key is not None:
                    entry = _entry(response)
                    _shared(cache.set, key, entry, timeout)
                    _local.put(key, entry)
            except _CacheUnavailable:
                return response
        if known is not shareable and (known is not None or len(_paths) < _MAX_PATHS):
            _paths[request.path] = shareable
        return response


class _CacheUnavailable(Exception):
    pass


def _shared(function, *args):
    """A call to the shared cache; when it fails (Redis restarting) the page is rendered as if uncached."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - any failure of the cache backend, whatever its client raises
        logger.warning("page cache unavailable: %s", error)
        raise _CacheUnavailable from error


# --- Invalidation --------------------------------------------------------------------------------------

_BUMPING_APPS = {"cms", "perks", "wagtailcore", "wagtailimages", "wagtaildocs", "wagtailredirects"}


def _model_changed(sender, **kwargs) -> None:
    if sender._meta.app_label in _BUMPING_APPS:
        bump()


def connect() -> None:
    """Called from ``CmsConfig.ready``; safe to call twice."""
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from wagtail.signals import page_published, page_unpublished, post_page_move

    post_save.connect(_model_changed, dispatch_uid="cms-page-cache-save")
    post_delete.connect(_model_changed, dispatch_uid="cms-page-cache-delete")
    m2m_changed.connect(_model_changed, dispatch_uid="cms-page-cache-m2m")
    page_published.connect(bump, dispatch_uid="cms-page-cache-published")
    page_unpublished.connect(bump, dispatch_uid="cms-page-cache-unpublished")
    post_page_move.connect(bump, dispatch_uid="cms-page-cache-moved")
