from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "propdesk.wallet"
    label = "wallet"
