from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "propdesk.platforms"
    label = "platforms"
