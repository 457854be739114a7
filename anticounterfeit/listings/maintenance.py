"""Housekeeping of listing media: files no row references."""
import logging
import os
import time
from datetime import timedelta

from django.conf import settings

from .models import ListingImage

log = logging.getLogger(__name__)


def remove_orphan_listing_files(older_than=None) -> int:
    """Delete listing image files that no row references (a request that died after writing its files but
    before its transaction committed). Only files older than ``older_than`` go, so in-flight requests are safe."""
    cutoff = time.time() - (older_than if older_than is not None else timedelta(hours=1)).total_seconds()
    media = str(settings.MEDIA_ROOT)
    removed = 0
    for folder, _dirs, files in os.walk(os.path.join(media, "listings")):
        prefix = os.path.relpath(folder, media).replace(os.sep, "/") + "/"
        candidates = {f"{prefix}{name}" for name in files if os.path.getmtime(os.path.join(folder, name)) < cutoff}
        if not candidates:
            continue
        known = set(ListingImage.objects.filter(image__in=candidates).values_list("image", flat=True))
        for name in candidates - known:
            os.remove(os.path.join(media, name))
            removed += 1
    if removed:
        log.info("removed %d orphan listing files", removed)
    return removed
