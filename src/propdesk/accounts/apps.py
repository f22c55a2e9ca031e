from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "propdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from propdesk.accounts import housekeeping, permissions  # noqa: F401  (registers the codes)
        from propdesk.accounts.roles import ensure_default_roles

        post_migrate.connect(ensure_default_roles, sender=self)
        housekeeping.register()
