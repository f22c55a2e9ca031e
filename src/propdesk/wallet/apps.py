from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "propdesk.wallet"
    label = "wallet"

    def ready(self) -> None:
        from propdesk.wallet import request_types  # noqa: F401  (registers the types)
