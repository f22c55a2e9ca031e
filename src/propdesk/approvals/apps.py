from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "propdesk.approvals"
    label = "approvals"

    def ready(self) -> None:
        from propdesk.approvals import permissions  # noqa: F401  (registers the codes)
