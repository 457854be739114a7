from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "anticounterfeit.accounts"
    label = "accounts"
