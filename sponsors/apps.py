from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SponsorsConfig(AppConfig):
    name = "sponsors"
    verbose_name = _("Sponsors")

    def ready(self) -> None:
        from . import handlers, signals  # noqa: F401 (signals: cache invalidation)

        handlers.subscribe_all()
        from . import bank_matchers  # noqa: F401 (registers the bank-statement matchers with ledger.bank)
