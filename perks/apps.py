from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerksConfig(AppConfig):
    name = "perks"
    verbose_name = _("Perks")

    def ready(self):
        from fundraising.privacy import erasure_step_register, export_section_register

        from . import handlers
        from .services import patron_perk_data_erase, patron_perk_data_export

        handlers.subscribe_all()  # after fundraising's handlers: entitlements follow the patronage's new state
        erasure_step_register(patron_perk_data_erase)  # emoji and feed tokens go with the patron's data
        export_section_register("perks", patron_perk_data_export)  # and are part of the data export
