from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "anticounterfeit.moderation"
    label = "moderation"
