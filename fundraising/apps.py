from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundraisingConfig(AppConfig):
    name = "fundraising"
    verbose_name = _("Fundraising")

    def ready(self):
        from . import handlers, privacy, signals

        handlers.subscribe_all()  # Stripe events -> services
        signals.connect()  # public caches refreshed when figures change
        privacy.connect_signals()  # a confirmed e-mail address claims a guest's patron record
