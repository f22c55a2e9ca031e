from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "propdesk.core"
    label = "core"
