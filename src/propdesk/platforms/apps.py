from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "propdesk.platforms"
    label = "platforms"

    def ready(self) -> None:
        from propdesk.platforms import permissions  # noqa: F401  (registers the codes)
