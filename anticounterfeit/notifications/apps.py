from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "anticounterfeit.notifications"
    label = "notifications"
