from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "anticounterfeit.catalog"
    label = "catalog"
