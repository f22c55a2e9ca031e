from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "propdesk.accounts"
    label = "accounts"
