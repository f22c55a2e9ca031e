from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "propdesk.onboarding"
    label = "onboarding"

    def ready(self) -> None:
        from propdesk.onboarding import request_types  # noqa: F401  (registers the types)
