"""The queue with 100k open cases: the page query walks the Case index, and the page costs a fixed number of queries,
thumbnails included (each row shows its listing's first photo and its best-matching reference's photo).

Rows are bulk-inserted (not created through actions): this test is about the query plan at volume, not about state
changes, and 100k scans through the actions would take minutes.
"""
import json
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import default_tenant
from anticounterfeit.catalog.models import Brand, ReferenceImage, ReferenceItem
from anticounterfeit.detection.models import DetectionPolicy
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.filtersets import queue_cases
from anticounterfeit.moderation.models import Case

pytestmark = [pytest.mark.services, pytest.mark.django_db]
N = 100_000


def _insert_series(model, n: int, exprs: dict[str, str]) -> None:
    """INSERT n rows with generate_series in SQL: ``exprs`` gives columns in terms of ``i``, the rest take defaults."""
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in exprs:
            values.append(exprs[field.column])
        else:
            value = timezone.now() if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) \
                else field.get_default()
            values.append("%s")
            params.append(field.get_db_prep_save(value, connection))
    sql = (f'INSERT INTO {model._meta.db_table} ({", ".join(columns)}) '
           f'SELECT {", ".join(values)} FROM generate_series(0, {n - 1}) AS i')
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute(f"ANALYZE {model._meta.db_table}")


def test_queue_with_100k_open_cases(make_user):
    brand = Brand.objects.create(brand_key="bulk", name="Bulk")
    tenant = default_tenant()
    Seller.objects.bulk_create([Seller(client=tenant, seller_key=f"S-{i}", name=f"Seller {i}") for i in range(100)])
    first_seller = Seller.objects.order_by("pk").values_list("pk", flat=True).first()
    t0 = time.monotonic()
    _insert_series(Listing, N, {
        "listing_key": "'L-' || i", "client_id": str(tenant.pk), "seller_id": f"{first_seller} + i %% 100", "title": "'Bulk item ' || i",
        "status": "'in_review'", "matched_brand_id": str(brand.pk), "score": "(i %% 1000) / 1000.0"})
    first_listing = Listing.objects.order_by("pk").values_list("pk", flat=True).first()
    reference = ReferenceItem.objects.create(ref_key="ref-bulk", brand=brand, title="Bulk runner")
    ReferenceImage.objects.create(reference=reference, position=0, image="references/bulk/ref.jpg", sha256="r")
    _insert_series(ListingImage, N, {"listing_id": f"{first_listing} + i", "image": "'listings/bulk/' || i || '.jpg'",
                                     "sha256": "md5(i::text)"})
    detection_model = Case._meta.get_field("detection").related_model
    _insert_series(detection_model, N, {
        "listing_id": f"{first_listing} + i", "score": "(i %% 1000) / 1000.0", "model_version": "'bulk'",
        "matches": "'" + json.dumps([{"kind": "text", "ref_id": "ref-bulk", "score": 0.5},
                                     {"kind": "image", "ref_id": "ref-bulk", "score": 0.9, "listing_image": 0,
                                      "ref_image": 0}]) + "'::jsonb"})
    first_detection = detection_model.objects.order_by("pk").values_list("pk", flat=True).first()
    # priority as moderation.actions.case_priority stores it: log(score × exposure) + recency of the opening time
    epoch, half_life = actions.PRIORITY_EPOCH.timestamp(), settings.CASE_PRIORITY_HALF_LIFE.total_seconds()
    _insert_series(Case, N, {
        "listing_id": f"{first_listing} + i", "detection_id": f"{first_detection} + i",
        "opened_at": "now() - i * interval '1 second'",
        "priority": f"ln(greatest((i %% 1000) / 1000.0, 0.0001) * 0.8)"
                    f" + (extract(epoch from now() - i * interval '1 second') - {epoch}) / {half_life} * ln(2)"})
    print(f"inserted {N} cases in {time.monotonic() - t0:.1f}s")
    DetectionPolicy.current()
    moderator = make_user("mod", Role.MODERATOR)
    client = Client()
    client.force_login(moderator)

    queries = {}
    for params in ({}, {"page": "2000"}, {"brand": str(brand.pk)}, {"q": "L-777"}, {"seller": "S-7"}):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.monotonic()
            response = client.get("/console/", params)
            elapsed = time.monotonic() - t0
        assert response.status_code == 200
        rows = len(response.context["page"])
        print(f"queue {params}: {rows} rows, {len(ctx)} queries, {elapsed * 1000:.0f} ms")
        assert len(ctx) <= 15, [q["sql"][:80] for q in ctx]  # 12 + 3 for all the thumbnails of a page
        queries[rows] = len(ctx)
        html = response.content.decode()
        assert html.count('loading="lazy"') == 2 * rows  # the listing's photo and the best match's, every row
        assert "/media/references/bulk/ref.jpg" in html and 'width="56" height="56"' in html
    assert set(queries) >= {1, 25} and len(set(queries.values())) == 1, f"queries depend on the rows: {queries}"
    assert response.context["page"].paginator.count == N // 100
    with CaptureQueriesContext(connection) as ctx:  # an htmx filter/page swap costs less than the page
        partial = client.get("/console/", {"page": "2000"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
    assert partial.status_code == 200 and len(ctx) <= 12, [q["sql"][:80] for q in ctx]  # page: 15
    assert partial.content.decode().count('loading="lazy"') == 2 * 25
    top = client.get("/console/").context["page"][0]
    assert top.listing.listing_key == "L-999"  # the newest of the best-scored: 0.999 beats the newer 0.998

    _, cases = queue_cases(moderator, {}, DetectionPolicy.current())
    sql, params = cases[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(plan)
    assert "Index Scan using moderation__state_" in plan and "Seq Scan on moderation_case" not in plan, plan
