from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "propdesk.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from propdesk.core import menu
        from propdesk.jobs import housekeeping, services
        from propdesk.jobs.permissions import JOBS_VIEW

        housekeeping.register_builtin()
        menu.link(
            menu.BACKOFFICE,
            section="settings",
            label="Background jobs",
            url="backoffice:jobs",
            order=90,
            permission=JOBS_VIEW,
            count=lambda user: services.gave_up_count(),
            count_id="nav-jobs-gave-up",
            count_title="Jobs that gave up",
        )
