from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "anticounterfeit.detection"
    label = "detection"
    verbose_name = "Detection (scorer versions)"
