from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class CoreConfig(AppConfig):
    name = "propdesk.core"
    label = "core"

    def ready(self) -> None:
        from propdesk.core import (  # noqa: F401  (the deployment checks, settings.manage)
            menu,
            permissions,
            security,
        )

        # Every app's settings pages go under one heading, shown even to staff who see none.
        menu.section("settings", "Settings", order=90, always_shown=True)

        checks.register(vault_keys_check)
        checks.register(vault_keys_deploy_check, deploy=True)


def vault_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`propdesk manage check` (and every start) says when the vault's keys are unusable."""
    from propdesk.core import vault

    return [
        checks.Error(problem, hint="See docs/keys.md.", id="propdesk.E001")
        for problem in vault.key_problems(settings.VAULT_KEYS)
    ]


def vault_keys_deploy_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """In production the vault has keys of its own, the same on every host."""
    if settings.VAULT_KEYS:
        return []
    return [
        checks.Warning(
            "The vault seals trading passwords under a key derived from the secret key: "
            "rotating the secret key would make them unreadable.",
            hint="Set PROPDESK_VAULT_KEYS (the same on every host), then run "
            "`propdesk vault reseal`; see docs/keys.md.",
            id="propdesk.W003",
        )
    ]
