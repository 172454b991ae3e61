from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_last_app(sender, using, **kwargs):
    """Run once per migrate, after every app has created its permissions."""
    last_app = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label != last_app.label:
        return
    from .services import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import admin_site, signals  # noqa: F401

        post_migrate.connect(_sync_roles_after_last_app, dispatch_uid="accounts.roles_sync")
