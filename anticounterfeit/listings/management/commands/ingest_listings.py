import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.api.intake import IntakeRejected, accept_validated
from anticounterfeit.api.serializers import ListingIntakeSerializer, check_image_bytes
from anticounterfeit.core import queue, tasks
from anticounterfeit.detection.scanning import SCAN_BATCH
from anticounterfeit.listings.models import Listing


def read_listing_line(raw: dict, base: Path) -> dict:
    """Validate one listings.jsonl record (docs/architecture.md, Data formats) with the API's serializer; images are read from disk."""
    payload = {k: v for k, v in raw.items() if k != "images"}
    serializer = ListingIntakeSerializer(data=payload)
    if not serializer.is_valid():
        raise IntakeRejected(serializer.errors)
    data = dict(serializer.validated_data)
    images = raw.get("images") or []
    if not isinstance(images, list):
        raise IntakeRejected({"images": ["must be a list of relative image paths"]})
    loaded = []
    for n, rel in enumerate(images):
        path = (base / str(rel)).resolve()
        if not isinstance(rel, str) or base.resolve() not in path.parents or not path.is_file():
            raise IntakeRejected({f"images[{n}]": [f"'{rel}': not a file inside {base}"]})
        data_bytes = path.read_bytes()
        try:
            check_image_bytes(data_bytes, f"'{rel}'")
        except Exception as exc:  # serializers.ValidationError
            raise IntakeRejected({f"images[{n}]": [str(getattr(exc, 'detail', exc))]}) from exc
        loaded.append({"filename": path.name, "data": data_bytes})
    data["images"] = loaded
    return data


class Command(BaseCommand):
    help = "Ingest listings from a JSONL file (the bundle listings format, docs/architecture.md); each is committed, then queued for scanning."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--wait", action="store_true", help="Wait until the workers have scanned every listing.")
        parser.add_argument("--timeout", type=int, default=1800)

    def handle(self, file, wait=False, timeout=1800, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        accepted, batch, rejected = [], [], 0
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                item = "?"
                try:
                    raw = json.loads(line)
                    if not isinstance(raw, dict):
                        raise IntakeRejected({"line": ["must be a JSON object"]})
                    item = raw.get("listing_id", "?")
                    listing = accept_validated(read_listing_line(raw, path.parent), enqueue=False)
                    accepted.append(listing.pk)
                    batch.append(listing.pk)
                    if len(batch) == SCAN_BATCH:  # committed already: queue the scans in model-sized batches
                        queue.enqueue(tasks.SCAN_BATCH, batch)
                        batch = []
                except json.JSONDecodeError as exc:
                    rejected += 1
                    self.stderr.write(f"{path.name} line {line_no}: not valid JSON ({exc.msg})")
                except IntakeRejected as exc:
                    rejected += 1
                    for field, msgs in exc.errors.items():
                        self.stderr.write(f"{path.name} line {line_no} (listing_id={item}): field '{field}': {' '.join(map(str, msgs))}")
        if batch:
            queue.enqueue(tasks.SCAN_BATCH, batch)
        self.stdout.write(f"accepted {len(accepted)} listing(s), rejected {rejected}")
        if wait and accepted:
            queue.wait_until_idle()  # the embedded mode's runner; with a broker the workers scan
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pending = Listing.objects.filter(pk__in=accepted, status=Listing.Status.PENDING).count()
                if not pending:
                    break
                self.stdout.write(f"  waiting for the workers: {pending} pending")
                time.sleep(2)
            else:
                raise CommandError("timed out waiting for scans")
            flagged = Listing.objects.filter(pk__in=accepted, status=Listing.Status.IN_REVIEW).count()
            self.stdout.write(f"scanned {len(accepted)}: {flagged} sent to the moderation queue")
