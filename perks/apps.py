from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerksConfig(AppConfig):
    name = "perks"
    verbose_name = _("Perks")

    def ready(self):
        from . import handlers

        handlers.subscribe_all()  # after fundraising's handlers: entitlements follow the patronage's new state
