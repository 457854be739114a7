import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anticounterfeit.settings")
application = get_wsgi_application()


def _warm_embedded_detector() -> None:
    """Embedded mode: load the models and bank on the task thread now, so the first decision's consequences and
    the first scan never wait for model loading (a deployment's workers load them at their own start)."""
    from django.conf import settings
    from django.db import DatabaseError

    from anticounterfeit.core import queue, tasks  # only once Django is set up (above)

    if settings.EMBEDDED_MODE:
        try:
            queue.enqueue(tasks.WARM_DETECTOR)
        except DatabaseError:  # not migrated yet: there is no bank to load either
            pass


_warm_embedded_detector()
