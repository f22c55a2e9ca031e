from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "propdesk.platforms.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox trading platform"

    def ready(self) -> None:
        from propdesk.jobs import housekeeping
        from propdesk.platforms import adapters
        from propdesk.platforms.sandbox import history
        from propdesk.platforms.sandbox.adapter import SandboxPlatform

        adapters.register("sandbox", SandboxPlatform)
        housekeeping.register("sandbox.prune_price_samples", every=housekeeping.HOUR)(history.prune)
