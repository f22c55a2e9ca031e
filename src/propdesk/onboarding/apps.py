from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "propdesk.onboarding"
    label = "onboarding"

    def ready(self) -> None:
        from propdesk.onboarding import (  # noqa: F401  (registers the codes and the types)
            permissions,
            request_types,
        )
