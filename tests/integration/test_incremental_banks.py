"""Incremental banks on the real detector: a takedown's fake matches a re-upload by another seller with no full
rebuild; once reinstated it no longer matches; compaction keeps every result identical; two workers that load the
same version and apply the same deltas search identically, in one process and as two worker processes."""
import pytest
from django.db import transaction

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.detection import bank_deltas
from anticounterfeit.detection.bank_builds import compact
from anticounterfeit.detection.ml_config import bank_config
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.detection.policy import review_threshold_for
from anticounterfeit.detection.scanning import scan_listings
from anticounterfeit.listings import actions as listing_actions
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from ml.index import ReferenceIndex

from .helpers import labels_by_id, read_jsonl
from .procs import indexed_catalog, private_redis, publishing_to, service_env, start_worker, stop, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def fake_record(demo_bundle):
    indexed_catalog(demo_bundle)
    labels = labels_by_id(demo_bundle)
    return next(r for r in read_jsonl(demo_bundle / "listings.jsonl") if labels[r["listing_id"]]["counterfeit"])


def accepted(bundle, record, listing_id: str, seller_id: str) -> Listing:
    """The same photos under another listing and seller, accepted and not yet scanned."""
    return accept_validated({
        **{k: v for k, v in record.items() if k != "images"}, "listing_id": listing_id, "seller_id": seller_id,
        "images": [{"filename": p.split("/")[-1], "data": (bundle / p).read_bytes()} for p in record["images"]]},
        enqueue=False)


def upload(bundle, record, listing_id: str, seller_id: str) -> Listing:
    """``accepted``, then scanned in this process as a worker would."""
    listing = accepted(bundle, record, listing_id, seller_id)
    scan_listings([listing.pk])
    listing.refresh_from_db()
    return listing


def counterfeit_matches(listing) -> list[str]:
    return [m["ref_id"] for m in listing.detections.latest("pk").matches if m["kind"] == "counterfeit"]


def take_down(listing, moderator):
    if not Case.objects.filter(listing=listing).exists():  # the first upload's own verdict is not the point here
        actions.open_or_update_case(listing, listing.detections.latest("pk"))
        listing_actions.set_status(listing, Listing.Status.IN_REVIEW, reason="test: reported")
    return actions.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator)


def test_takedown_matches_a_reupload_without_rebuild_reinstatement_stops_it_compaction_keeps_results(
        demo_bundle, fake_record, make_user):
    moderator = make_user("mod", Role.MODERATOR)
    first = upload(demo_bundle, fake_record, "FAKE-1", "seller-a")
    decision = take_down(first, moderator)
    bank_id = f"cf-{first.pk}"  # the shared bank names no tenant's listing id
    delta = BankDelta.objects.get(source_key=bank_id)
    assert delta.op == "add_counterfeit" and delta.dim > 0 and BankVersion.objects.count() == 1

    again = upload(demo_bundle, fake_record, "FAKE-2", "seller-b")
    assert counterfeit_matches(again) == [bank_id], "the re-upload matches the taken-down listing (by its bank id)"
    assert again.score >= review_threshold_for(again)
    assert BankVersion.objects.count() == 1, "no full rebuild"

    with transaction.atomic():
        actions.apply_reinstatement(decision, acting_user=make_user("lead", Role.LEAD), reason="test: appeal")
    assert BankDelta.objects.filter(source_key=bank_id).count() == 2  # the tombstone
    third = upload(demo_bundle, fake_record, "FAKE-3", "seller-c")
    assert bank_id not in counterfeit_matches(third)

    number = compact()
    assert number == 2 and BankVersion.objects.get(number=2).counts["cf_image"] == 0
    fourth = upload(demo_bundle, fake_record, "FAKE-4", "seller-d")
    assert fourth.score == pytest.approx(third.score, abs=1e-6)
    assert fourth.detections.latest("pk").matches == third.detections.latest("pk").matches
    assert fourth.detections.latest("pk").signals == pytest.approx(third.detections.latest("pk").signals, abs=1e-6)


def test_two_workers_that_apply_the_same_deltas_search_alike(demo_bundle, fake_record, make_user):
    first = upload(demo_bundle, fake_record, "FAKE-1", "seller-a")
    take_down(first, make_user("mod", Role.MODERATOR))
    version = BankVersion.objects.latest("number")
    workers = [ReferenceIndex.load(version.path, bank_config()) for _ in range(2)]
    for index in workers:
        bank_deltas.apply(index, bank_deltas.deltas_after(version.deltas_upto))
    delta = BankDelta.objects.get(source_key=f"cf-{first.pk}")
    import numpy as np

    query = np.frombuffer(bytes(delta.vectors), dtype=np.float32).reshape(-1, delta.dim)
    results = [index.cf_image.search(query, 1) for index in workers]
    assert [index.cf_image.meta[i]["ref_id"] for i in results[0][1][:, 0]] == [f"cf-{first.pk}"] * len(query)
    assert np.array_equal(results[0][1], results[1][1]) and np.allclose(results[0][0], results[1][0])
    assert results[0][0].min() > 0.99
    assert workers[0].counts == workers[1].counts


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_apply_a_takedown_delta_without_reloading(demo_bundle, fake_record, make_user, tmp_path):
    """Two ``celery worker`` processes, each on a queue of its own, have loaded bank v1; after a takedown each
    one's next scan of a re-upload matches the fake, alike, and no new bank version was made."""
    from anticounterfeit.celery import app

    def scanned_by(queue: str, listing: Listing) -> Listing:
        app.send_task("workers.scan.scan_batch", args=[[listing.pk]], queue=queue)
        return wait_until(lambda: Listing.objects.exclude(status=Listing.Status.PENDING).filter(pk=listing.pk).first(),
                          300, f"the scan of {listing.listing_key} on {queue}")

    with private_redis() as broker, publishing_to(broker.url):
        env = service_env(broker.url, tmp_path)
        workers = {q: start_worker(env, tmp_path, q, queues=q) for q in ("scan-a", "scan-b")}
        try:
            first = scanned_by("scan-a", accepted(demo_bundle, fake_record, "FAKE-1", "seller-a"))
            scanned_by("scan-b", accepted(demo_bundle, fake_record, "WARM-B", "seller-w"))  # B has loaded v1 too
            take_down(first, make_user("mod", Role.MODERATOR))
            again = {q: scanned_by(q, accepted(demo_bundle, fake_record, f"AGAIN-{q}", f"seller-{q}"))
                     for q in workers}
        finally:
            for proc in workers.values():
                stop(proc)
    detections = {q: listing.detections.latest("pk") for q, listing in again.items()}
    for q, listing in again.items():
        assert counterfeit_matches(listing) == [f"cf-{first.pk}"], f"{q} did not apply the takedown's delta"
        assert listing.score >= review_threshold_for(listing)
    assert detections["scan-a"].matches == detections["scan-b"].matches
    assert again["scan-a"].score == pytest.approx(again["scan-b"].score, abs=1e-6)
    assert BankVersion.objects.count() == 1, "no full rebuild, no reload of a new version"
