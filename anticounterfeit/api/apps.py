from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "anticounterfeit.api"
    label = "api"
