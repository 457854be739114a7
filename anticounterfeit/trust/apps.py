from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "anticounterfeit.trust"
    label = "trust"
