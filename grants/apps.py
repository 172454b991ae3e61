from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Grants")

    def ready(self) -> None:
        from . import (
            bank_matchers,  # noqa: F401 (registers the bank-statement matchers with ledger.bank)
            signals,  # noqa: F401 (cache invalidation of the public grants page)
        )
