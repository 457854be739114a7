from django.apps import AppConfig


class ListingsConfig(AppConfig):
    name = "anticounterfeit.listings"
    label = "listings"
