from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "propdesk.approvals"
    label = "approvals"
