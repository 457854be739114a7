import sys

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "anticounterfeit.core"
    label = "core"
    _announced = False

    def ready(self) -> None:
        if settings.EMBEDDED_MODE and not CoreConfig._announced and "pytest" not in sys.modules:
            CoreConfig._announced = True
            db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
            print(
                "*** EMBEDDED MODE: no CELERY_BROKER_URL/REDIS_URL set — Celery tasks run in-process, "
                f"database={db}. Set DATABASE_URL and CELERY_BROKER_URL for the real deployment. ***",
                file=sys.stderr,
            )
            if settings.DEBUG:
                print("*** DEBUG IS ON: error pages show settings and code. Never expose this "
                      "server; a deployment leaves EMBEDDED_DEMO and DEBUG unset. ***", file=sys.stderr)
