from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "propdesk.core"
    label = "core"

    def ready(self) -> None:
        from propdesk.core import security  # noqa: F401  (registers the deployment checks)
