"""Schema migrations keep the data they touch, on the real PostgreSQL."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BEFORE = [("listings", "0004_detection_ocr_pending")]
AFTER = [("listings", "0005_detection_followup_pending")]


def _migrate(target: list[tuple[str, str]] | None = None):
    """Migrate to ``target`` (default: the latest schema) and return the historical models there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    target = target or executor.loader.graph.leaf_nodes()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def latest_schema_after():
    """Whatever a test migrates to, the next test finds the latest schema."""
    yield
    _migrate()


def test_followup_flag_keeps_its_values_through_the_rename(latest_schema_after):
    """``Detection.ocr_pending`` became ``followup_pending``: a fast result still waiting for its follow-up stays
    waiting (the sweeper finds it by the renamed partial index), the others stay decided."""
    old = _migrate(BEFORE)
    seller = old.get_model("listings", "Seller").objects.create(seller_key="mig-s", name="Seller")
    listing = old.get_model("listings", "Listing").objects.create(listing_key="mig-l", seller=seller, title="t")
    detection = old.get_model("listings", "Detection")
    waiting = detection.objects.create(listing=listing, score=0.4, model_version="m", ocr_pending=True)
    decided = detection.objects.create(listing=listing, score=0.9, model_version="m", ocr_pending=False)
    new = _migrate(AFTER)
    detection = new.get_model("listings", "Detection")
    assert detection.objects.get(pk=waiting.pk).followup_pending is True
    assert detection.objects.get(pk=decided.pk).followup_pending is False
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'detection_followup_pending'")
        (indexdef,) = cur.fetchone()
    assert "WHERE followup_pending" in indexdef
