"""``manage.py page_cache_clear``: serve every public page freshly rendered from the next request on.

Whole public pages are kept for visitors without a session (cms/page_cache.py) and renewed by signals on
every change made through the site, the admin or the services. Run this after a change made behind the
signals' back (a bulk ``update()`` in a shell, a restored backup) instead of waiting ``PAGE_CACHE_SECONDS``.
"""

from django.core.management.base import BaseCommand

from cms import page_cache


class Command(BaseCommand):
    help = "Make every kept public page stale, so the next visitor gets it freshly rendered."

    def handle(self, *args, **options):
        page_cache.bump()
        self.stdout.write("Public pages will be rendered afresh from the next request on.")
