from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "propdesk.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from propdesk.jobs import housekeeping, permissions  # noqa: F401  (registers the codes)

        housekeeping.register_builtin()
