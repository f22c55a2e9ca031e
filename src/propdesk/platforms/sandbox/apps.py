from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "propdesk.platforms.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox trading platform"

    def ready(self) -> None:
        from propdesk.platforms import adapters
        from propdesk.platforms.sandbox.adapter import SandboxPlatform

        adapters.register("sandbox", SandboxPlatform)
