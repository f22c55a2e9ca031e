from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """What the firm reads: the transactions report and the prop trading dashboard. No models:
    the reports read the wallet's and the challenges' tables."""

    name = "propdesk.reports"
    label = "reports"
    verbose_name = "Reports"
