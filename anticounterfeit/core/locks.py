"""Short-lived locks shared by every process: Redis ``SET NX`` with a TTL on the broker, the Django cache in the
embedded mode. They keep work from being done twice at once; nothing depends on them for correctness."""
import logging

from django.conf import settings

log = logging.getLogger(__name__)


def _redis():
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def take_once(key: str, ttl: int) -> bool:
    """True for the first caller across all workers within ``ttl`` seconds (Redis ``SET NX`` on the broker;
    the Django cache in the embedded mode). ``ttl`` <= 0 takes nothing and always answers True."""
    return take_each([key], ttl)[0]


def take_each(keys: list[str], ttl: int) -> list[bool]:
    """``take_once`` for several keys in one round trip to Redis (a pipeline of ``SET NX``): which of them this
    caller took."""
    if ttl <= 0:
        return [True] * len(keys)
    client = _redis()
    if client is None:
        from django.core.cache import cache

        return [cache.add(key, 1, ttl) for key in keys]
    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, 1, nx=True, ex=ttl)
        return [bool(took) for took in pipe.execute()]
    except Exception as exc:  # noqa: BLE001 - broker down: nothing could be queued anyway; try on a later scan
        log.warning("could not take the locks %s: %s", ", ".join(keys), exc)
        return [False] * len(keys)


def is_taken(key: str) -> bool:
    """Whether some caller holds ``key`` (a health check's question: it never fails)."""
    client = _redis()
    if client is None:
        from django.core.cache import cache

        return cache.get(key) is not None
    try:
        return bool(client.exists(key))
    except Exception:  # noqa: BLE001 - the health check reports, it does not fail
        return False


def release_once(key: str) -> None:
    client = _redis()
    if client is None:
        from django.core.cache import cache

        cache.delete(key)
        return
    try:
        client.delete(key)
    except Exception:  # noqa: BLE001 - the lock expires by itself
        pass
