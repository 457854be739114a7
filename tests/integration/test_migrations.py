"""Schema migrations keep the data they touch, on the real PostgreSQL."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

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


TENANCY_BEFORE = [("api", "0002_webhook_secret_version"), ("listings", "0006_detection_moved_to_detection_app"),
                  ("trust", "0003_clean_sales_reports_account_age")]
TENANCY_AFTER = [("trust", "0004_links_need_confirmation")]


def test_tenancy_moves_existing_data_to_its_tenant_and_derives_prior_takedowns(latest_schema_after):
    """Sellers go to the one client that sent their listings, else to the default tenant; listings without a
    client too. prior_takedowns becomes the onboarding record plus the strikes in force; unconfirmed link
    strikes are reversed."""
    old = _migrate(TENANCY_BEFORE)
    user = old.get_model("auth", "User").objects.create(username="mig-market")
    market = old.get_model("api", "MarketplaceClient").objects.create(name="Mig Market", user=user)
    seller_model, listing_model = old.get_model("listings", "Seller"), old.get_model("listings", "Listing")
    own = seller_model.objects.create(seller_key="mig-own", name="Own", prior_takedowns=2)
    loose = seller_model.objects.create(seller_key="mig-loose", name="Loose")
    listing_model.objects.create(listing_key="mig-1", seller=own, client=market, title="t")
    orphan = listing_model.objects.create(listing_key="mig-2", seller=loose, title="t")
    event = old.get_model("trust", "TrustEvent")
    now = timezone.now()
    event.objects.create(seller=own, kind="takedown", bad=3.0, occurred_at=now)
    reversed_strike = event.objects.create(seller=own, kind="takedown", bad=3.0, occurred_at=now)
    event.objects.create(seller=own, kind="reinstated", reverses=reversed_strike, occurred_at=now)
    link_strike = event.objects.create(seller=loose, kind="linked_seller", bad=1.0, occurred_at=now)

    new = _migrate(TENANCY_AFTER)
    sellers = new.get_model("listings", "Seller").objects
    default = new.get_model("api", "MarketplaceClient").objects.get(is_default=True)
    own, loose = sellers.get(seller_key="mig-own"), sellers.get(seller_key="mig-loose")
    assert own.client_id == market.pk and loose.client_id == default.pk and default.user_id is None
    assert new.get_model("listings", "Listing").objects.get(pk=orphan.pk).client_id == default.pk
    assert (own.onboarded_takedowns, own.prior_takedowns) == (2, 3)  # 2 on record + 1 strike still in force
    assert new.get_model("trust", "TrustEvent").objects.filter(reverses_id=link_strike.pk, kind="link_removed").exists()
