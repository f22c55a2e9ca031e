from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class CoreConfig(AppConfig):
    name = "propdesk.core"
    label = "core"

    def ready(self) -> None:
        from propdesk.core import security  # noqa: F401  (registers the deployment checks)

        checks.register(vault_keys_check)


def vault_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`propdesk manage check` (and every start) says when the vault's keys are unusable."""
    from propdesk.core import vault

    return [
        checks.Error(problem, hint="See docs/keys.md.", id="propdesk.E001")
        for problem in vault.key_problems(settings.VAULT_KEYS)
    ]
