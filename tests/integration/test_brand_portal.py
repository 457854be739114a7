"""Brand portal: catalog uploads with bad members, brand-to-brand scoping, reports and the self-service rule."""
import io
import json
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from anticounterfeit.accounts.models import Role
from anticounterfeit.catalog import actions
from anticounterfeit.catalog.models import BrandReport, ImportJob, ReferenceItem
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from anticounterfeit.trust.models import TrustEvent
from tests.factories import jpeg_bytes, make_brand, make_reference, scanned_listing
from workers.retro import import_upload

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def bomb_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG")  # 81 Mpx in a few KB
    return buffer.getvalue()


def noise_jpeg(size=400) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def bundle_zip(brands: list[dict], refs: list[dict], files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("brands.jsonl", "".join(json.dumps(b) + "\n" for b in brands))
        zf.writestr("catalog.jsonl", "".join(json.dumps(r) + "\n" for r in refs))
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def two_brands(make_user):
    acme, zenit = make_brand("acme", "Acme"), make_brand("zenit", "Zenit")
    ref_a, ref_b = make_reference(acme, "ref-a"), make_reference(zenit, "ref-b")
    fake_a = scanned_listing("L-a", "S-1", score=0.95, brand=acme, ref=ref_a, title="Acme runner replica")
    fake_b = scanned_listing("L-b", "S-2", score=0.9, brand=zenit, ref=ref_b, title="Zenit watch copy")
    owner_a = make_user("acme-owner", Role.BRAND_OWNER, brands=[acme])
    owner_b = make_user("zenit-owner", Role.BRAND_OWNER, brands=[zenit])
    return {"acme": acme, "zenit": zenit, "ref_a": ref_a, "ref_b": ref_b, "fake_a": fake_a, "fake_b": fake_b,
            "owner_a": owner_a, "owner_b": owner_b}


def test_zip_upload_imports_good_items_and_names_bad_ones(two_brands, client, settings):
    settings.UPLOAD_LIMITS = {**settings.UPLOAD_LIMITS, "MAX_IMAGE_BYTES": 60_000}
    escape = f"evil-{uuid.uuid4().hex}.txt"
    data = bundle_zip(
        brands=[{"brand_id": "acme", "name": "Acme", "aliases": ["ACME"], "protected_terms": ["airstride"]},
                {"brand_id": "zenit", "name": "Zenit hijacked"}],
        refs=[
            {"ref_id": "good-1", "brand_id": "acme", "title": "Acme trail shoe", "msrp": 140, "currency": "EUR",
             "images": ["images/good.jpg", "images/good2.jpg"]},
            {"ref_id": "logo-1", "brand_id": "acme", "title": "Acme logo", "kind": "logo", "colour": "red",
             "images": ["images/logo.jpg"]},
            {"ref_id": "bad-corrupt", "brand_id": "acme", "title": "Broken", "images": ["images/corrupt.jpg"]},
            {"ref_id": "bad-bomb", "brand_id": "acme", "title": "Bomb", "images": ["images/bomb.png"]},
            {"ref_id": "bad-big", "brand_id": "acme", "title": "Too big", "images": ["images/big.jpg"]},
            {"ref_id": "bad-escape", "brand_id": "acme", "title": "Escape", "images": ["../escape.jpg"]},
            {"ref_id": "ref-b", "brand_id": "acme", "title": "Steal a Zenit reference", "images": ["images/good.jpg"]},
            {"ref_id": "z-1", "brand_id": "zenit", "title": "Other brand's item", "images": ["images/good.jpg"]},
        ],
        files={"images/good.jpg": jpeg_bytes((10, 120, 30)), "images/good2.jpg": jpeg_bytes((10, 30, 120)),
               "images/logo.jpg": jpeg_bytes((250, 250, 250), text="ACME"),
               "images/corrupt.jpg": jpeg_bytes()[:150], "images/bomb.png": bomb_png(), "images/big.jpg": noise_jpeg(),
               f"../../../../../../{escape}": b"x", f"/tmp/{escape}": b"x"},
    )
    client.force_login(two_brands["owner_a"])
    response = client.post(reverse("catalog:upload", args=["zip"]),
                           {"brand": two_brands["acme"].pk, "bundle": SimpleUploadedFile("cat.zip", data)})
    job = ImportJob.objects.get(brand=two_brands["acme"])
    assert response.status_code == 302 and response.url == reverse("catalog:job", args=[job.pk])
    assert job.status == ImportJob.Status.QUEUED
    assert AuditEvent.objects.filter(action="catalog.upload", object_id=str(job.pk), actor=two_brands["owner_a"]).exists()

    import_upload(job.pk, latest_upload())  # what the worker runs (the test is not in a committed transaction)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INDEXING
    assert set(ReferenceItem.objects.filter(brand=two_brands["acme"]).values_list("ref_key", flat=True)) == {
        "ref-a", "good-1", "logo-1"}
    good = ReferenceItem.objects.get(ref_key="good-1")
    assert (good.images.count(), good.currency, float(good.msrp)) == (2, "EUR", 140.0)
    assert ReferenceItem.objects.get(ref_key="logo-1").kind == "logo"
    assert ReferenceItem.objects.get(ref_key="ref-b").brand == two_brands["zenit"]  # not stolen
    two_brands["zenit"].refresh_from_db()
    assert two_brands["zenit"].name == "Zenit"  # another brand's profile is not touched
    report = "\n".join(job.errors)
    for name in ("bad-corrupt", "bad-bomb", "bad-big", "bad-escape", "colour", "ref_id=ref-b", "brand_id=zenit",
                 escape):
        assert name in report, f"{name} not reported in:\n{report}"
    assert "path traversal refused" in report
    media = Path(settings.MEDIA_ROOT).resolve()
    for folder in [media, *media.parents, Path("/tmp")]:
        assert not (folder / escape).exists()
    for image in good.images.all():
        assert Path(image.image.path).resolve().is_relative_to(media)

    errors_csv = client.get(reverse("catalog:job_errors", args=[job.pk]))
    assert errors_csv.status_code == 200 and b"bad-corrupt" in errors_csv.content
    status = client.get(reverse("catalog:job", args=[job.pk]), {"format": "json"}).json()
    assert status["status"] == "indexing" and status["counts"]["references"] == 2


def latest_upload() -> str:
    """The path the portal handed to the worker: a stored ZIP, or a bundle folder built from a form."""
    folder = max((Path(settings.MEDIA_ROOT) / "uploads").iterdir(), key=lambda p: p.stat().st_mtime)
    return str(folder / "bundle.zip") if (folder / "bundle.zip").exists() else str(folder)


def test_csv_and_single_item_go_through_the_same_validation(two_brands, client):
    csv_text = ("ref_id,title,description,msrp,currency,kind,images\n"
                "csv-1,Acme cap,,25,USD,product,cap.jpg;cap2.jpg\n"
                "csv-2,Acme bag,,not-a-price,USD,product,bag.jpg\n"
                "csv-3,Acme belt,,30,USD,product,missing.jpg\n")
    client.force_login(two_brands["owner_a"])
    client.post(reverse("catalog:upload", args=["csv"]), {
        "brand": two_brands["acme"].pk, "catalog": SimpleUploadedFile("c.csv", csv_text.encode()),
        "images": [SimpleUploadedFile("cap.jpg", jpeg_bytes()), SimpleUploadedFile("cap2.jpg", jpeg_bytes((1, 2, 3))),
                   SimpleUploadedFile("bag.jpg", jpeg_bytes())]})
    job = ImportJob.objects.get(brand=two_brands["acme"])
    import_upload(job.pk, latest_upload())
    job.refresh_from_db()
    assert ReferenceItem.objects.get(ref_key="csv-1").images.count() == 2
    assert not ReferenceItem.objects.filter(ref_key__in=["csv-2", "csv-3"]).exists()
    assert any("csv-2" in e and "msrp" in e for e in job.errors) and any("missing.jpg" in e for e in job.errors)

    # Edit without new images keeps the current ones; another brand's id is refused.
    with pytest.raises(ValueError):
        actions.save_reference(two_brands["acme"], acting_user=two_brands["owner_a"], ref_key="ref-b", title="x")
    edit = actions.save_reference(two_brands["acme"], acting_user=two_brands["owner_a"], ref_key="csv-1",
                                  title="Acme cap v2", msrp=27, kind="product")
    import_upload(edit.pk, latest_upload())
    ref = ReferenceItem.objects.get(ref_key="csv-1")
    assert (ref.title, float(ref.msrp), ref.images.count()) == ("Acme cap v2", 27.0, 2)


def test_brand_a_cannot_see_or_act_on_brand_b(two_brands, client):
    w = two_brands
    report_b = actions.report_listing(w["fake_b"], w["zenit"], acting_user=w["owner_b"], reason_code="counterfeit",
                                      note="not ours")
    job_b = actions.save_reference(w["zenit"], acting_user=w["owner_b"], ref_key="z-2", title="Zenit dial",
                                   images=[SimpleUploadedFile("d.jpg", jpeg_bytes())])
    client.force_login(w["owner_a"])
    ref_b, fake_b = w["ref_b"], w["fake_b"]
    for name, args in [("catalog:reference_edit", [ref_b.pk]), ("catalog:match", [fake_b.pk]),
                       ("catalog:job", [job_b.pk]), ("catalog:job_errors", [job_b.pk]),
                       ("catalog:profile", [w["zenit"].pk])]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert client.post(reverse("catalog:reference_delete", args=[ref_b.pk])).status_code == 404
    assert client.post(reverse("catalog:match", args=[fake_b.pk]),
                       {"reason_code": "counterfeit", "note": "x"}).status_code == 404
    assert client.post(reverse("catalog:profile", args=[w["zenit"].pk]), {"name": "Mine now"}).status_code == 404
    assert client.post(reverse("catalog:upload", args=["zip"]), {"brand": w["zenit"].pk,
                       "bundle": SimpleUploadedFile("x.zip", b"PK")}).status_code == 302
    assert not ImportJob.objects.filter(brand=w["zenit"]).exclude(pk=job_b.pk).exists()  # form refused the brand
    assert client.post(reverse("catalog:sellers"), {"brand": w["zenit"].pk, "seller_ids": "S-1"}).status_code == 200
    assert not w["zenit"].authorized_sellers.exists()
    assert client.post(reverse("catalog:reverse_removal", args=[report_b.pk])).status_code == 403
    assert client.get(ref_b.images.first().image.url).status_code == 404
    assert ReferenceItem.objects.filter(pk=ref_b.pk).exists()

    for name in ("catalog:portal", "catalog:references", "catalog:matches", "catalog:reports", "catalog:sellers",
                 "catalog:matches_csv"):
        body = client.get(reverse(name)).content.decode()
        assert "Zenit" not in body and "L-b" not in body and "ref-b" not in body, name
    exported = client.get(reverse("catalog:matches_csv")).content.decode()
    assert "L-a" in exported
    assert client.get(reverse("catalog:match", args=[w["fake_a"].pk])).status_code == 200
    assert client.get(reverse("moderation:queue")).status_code == 403


def test_report_enters_queue_with_high_priority(two_brands, make_user, client):
    w = two_brands
    low = scanned_listing("L-low", "S-3", score=0.55, brand=w["acme"], ref=w["ref_a"], title="Acme lookalike")
    top_scan = Case.objects.get(listing=w["fake_a"])
    client.force_login(w["owner_a"])
    response = client.post(reverse("catalog:match", args=[low.pk]),
                           {"reason_code": "counterfeit", "note": "Logo stitched wrong", "reference": w["ref_a"].pk})
    assert response.status_code == 302
    report = BrandReport.objects.get(listing=low)
    assert report.case.source == Case.Source.BRAND_REPORT and not report.direct_removal
    assert report.case.priority > top_scan.priority
    assert AuditEvent.objects.get(action="brand.report", object_id=str(report.pk)).actor == w["owner_a"]
    assert Listing.objects.get(pk=low.pk).status == Listing.Status.IN_REVIEW
    with pytest.raises(actions.ReportRefused):
        actions.report_listing(low, w["acme"], acting_user=w["owner_a"], reason_code="counterfeit")
    moderator = make_user("mod", Role.MODERATOR)
    client.force_login(moderator)
    queue = client.get(reverse("moderation:queue")).content.decode()
    assert queue.index("Acme lookalike") < queue.index("Acme runner replica")  # the brand report comes first


def test_self_service_granted_and_revoked_by_accuracy(two_brands, make_user, settings, client):
    settings.BRAND_SELF_SERVICE = {"MIN_DECIDED_REPORTS": 5, "WINDOW": 5, "MIN_CONFIRMED_RATE": 0.9,
                                   "MAX_REVERSAL_RATE": 0.05}
    w = two_brands
    acme, owner = w["acme"], w["owner_a"]
    moderator = make_user("mod", Role.MODERATOR)
    for n in range(5):
        listing = scanned_listing(f"R-{n}", f"SR-{n}", score=0.3, brand=acme, ref=w["ref_a"], title=f"Acme knockoff {n}")
        report = actions.report_listing(listing, acme, acting_user=owner, reason_code="counterfeit", note="fake")
        acme.refresh_from_db()
        assert not acme.self_service and not report.direct_removal
        moderation.do_take_down(report.case_id, acting_user=moderator)
    acme.refresh_from_db()
    assert acme.self_service and "granted" in acme.self_service_reason
    grant = AuditEvent.objects.get(action="brand.self_service", object_id=str(acme.pk))
    assert grant.after["self_service"] is True and "100%" in grant.after["reason"]

    # Direct removal: taken down at once, seller notified, rating moved, audited.
    fake = w["fake_a"]
    seller = fake.seller
    seller.email = "s1@example.com"
    seller.save(update_fields=["email"])
    rating_before = seller.trust_rating
    report = actions.report_listing(fake, acme, acting_user=owner, reason_code="counterfeit", note="exact copy")
    fake.refresh_from_db()
    seller.refresh_from_db()
    assert report.direct_removal and fake.status == Listing.Status.REMOVED
    assert seller.trust_rating < rating_before
    assert TrustEvent.objects.filter(seller=seller, kind=TrustEvent.Kind.BRAND_REMOVAL).exists()
    notice = Notification.objects.get(seller=seller, listing=fake, kind=Notification.Kind.TAKEDOWN)
    assert "Acme" in notice.body
    assert AuditEvent.objects.filter(action="case.takedown", object_id=str(report.case_id), actor=owner).exists()

    # A moderator reverses it: the listing is back, the rating restored, and the brand loses the privilege.
    client_rating = seller.trust_rating
    client.force_login(moderator)
    case_page = client.get(reverse("moderation:case", args=[report.case_id])).content.decode()
    assert "exact copy" in case_page and "Reverse the brand" in case_page
    response = client.post(reverse("catalog:reverse_removal", args=[report.pk]),
                           {"note": "authorized reseller", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("catalog:removals")
    assert AuditEvent.objects.get(action="brand.removal_reverse", object_id=str(report.pk)).actor == moderator
    fake.refresh_from_db()
    seller.refresh_from_db()
    acme.refresh_from_db()
    assert fake.status == Listing.Status.REINSTATED and seller.trust_rating > client_rating
    assert Notification.objects.filter(seller=seller, kind="reinstatement").exists()
    assert not acme.self_service and "revoked" in acme.self_service_reason and "reversed" in acme.self_service_reason
    with pytest.raises(PermissionError):
        actions.reverse_brand_removal(report, acting_user=owner)

    # The next report goes to the queue instead.
    other = scanned_listing("R-next", "SR-next", score=0.3, brand=acme, ref=w["ref_a"])
    assert not actions.report_listing(other, acme, acting_user=owner, reason_code="counterfeit").direct_removal
    assert Listing.objects.get(pk=other.pk).status == Listing.Status.IN_REVIEW


def test_invited_owner_of_two_brands_sees_both_and_imports_authorized_sellers(two_brands, client):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("invite_brand_owner", "group-legal", "--brand", "acme", "--brand", "zenit", stdout=out)
    password = out.getvalue().rsplit(": ", 1)[1].strip()
    assert client.login(username="group-legal", password=password)
    page = client.get(reverse("catalog:portal")).content.decode()
    assert "L-a" in page and "L-b" in page and "Zenit" in page
    csv_file = SimpleUploadedFile("sellers.csv", b"seller_id,name\nS-1,First\nS-404,Nobody\n")
    client.post(reverse("catalog:sellers"), {"brand": two_brands["zenit"].pk, "csv": csv_file})
    assert list(two_brands["zenit"].authorized_sellers.values_list("seller__seller_key", flat=True)) == ["S-1"]
    client.post(reverse("catalog:sellers"), {"brand": two_brands["zenit"].pk, "remove": "S-1"})
    assert not two_brands["zenit"].authorized_sellers.exists()
    assert AuditEvent.objects.filter(action="brand.authorized_sellers", object_id=str(two_brands["zenit"].pk)).count() == 2


def test_single_reference_add_edit_delete_in_the_browser_forms(two_brands, client):
    client.force_login(two_brands["owner_a"])
    response = client.post(reverse("catalog:reference_new"), {
        "brand": two_brands["acme"].pk, "ref_key": "acme-logo-2", "title": "Acme badge", "kind": "logo",
        "msrp": "", "currency": "USD", "description": "",
        "images": [SimpleUploadedFile("a.jpg", jpeg_bytes()), SimpleUploadedFile("b.jpg", jpeg_bytes((5, 5, 5)))]})
    job = ImportJob.objects.get(brand=two_brands["acme"])
    assert response.status_code == 302 and response.url == reverse("catalog:job", args=[job.pk])
    upload = latest_upload()
    import_upload(job.pk, upload)
    ref = ReferenceItem.objects.get(ref_key="acme-logo-2")
    assert (ref.kind, ref.images.count(), ref.brand) == ("logo", 2, two_brands["acme"])
    assert not Path(upload).exists()  # the imported upload is cleaned away

    missing_image = client.post(reverse("catalog:reference_new"), {
        "brand": two_brands["acme"].pk, "ref_key": "no-image", "title": "x", "kind": "product", "currency": "USD"})
    assert missing_image.status_code == 200 and b"needs at least one image" in missing_image.content
    assert client.post(reverse("catalog:reference_delete", args=[ref.pk])).status_code == 302
    assert not ReferenceItem.objects.filter(pk=ref.pk).exists()
    assert AuditEvent.objects.filter(action="reference.delete", object_id=str(ref.pk)).exists()


def test_folder_upload_rebuilds_the_bundle_safely_and_names_bad_members(two_brands, client, monkeypatch):
    """A picked folder arrives as files plus their paths inside the folder; bad members are refused by name."""
    import ml.bundle

    monkeypatch.setattr(ml.bundle, "ZIP_MAX_MEMBER", 50_000)  # the ZIP path's per-member limit, made small
    escape = f"evil-{uuid.uuid4().hex}.txt"
    refs = [{"ref_id": "dir-1", "brand_id": "acme", "title": "Acme hiking boot", "msrp": 180,
             "images": ["images/boot.jpg", "images/sub/boot-side.jpg"]},
            {"ref_id": "dir-broken", "brand_id": "acme", "title": "Broken", "images": ["images/broken.jpg"]},
            {"ref_id": "dir-huge", "brand_id": "acme", "title": "Huge photo", "images": ["images/huge.jpg"]}]
    members = {
        "acme-cat/brands.jsonl": json.dumps({"brand_id": "acme", "name": "Acme"}) + "\n",
        "acme-cat/catalog.jsonl": "".join(json.dumps(r) + "\n" for r in refs),
        "acme-cat/images/boot.jpg": jpeg_bytes((90, 60, 30)),
        "acme-cat/images/sub/boot-side.jpg": jpeg_bytes((60, 90, 30)),
        "acme-cat/images/broken.jpg": b"\xff\xd8 not a jpeg",
        "acme-cat/images/huge.jpg": noise_jpeg(600),
        f"acme-cat/../../../../../{escape}": b"x",
        f"/tmp/{escape}": b"x",
        "acme-cat/images/boot.jpg ": b"",  # a distinct, harmless name: kept (nothing refers to it)
        "acme-cat/images/boot.jpg/inner.jpg": b"x",  # needs a folder where a file already is
        "acme-cat/" + "n" * 300 + ".jpg": b"x",  # a name the file system refuses
    }
    files = [SimpleUploadedFile(path.rsplit("/", 1)[-1] or "f", data if isinstance(data, bytes) else data.encode())
             for path, data in members.items()]
    client.force_login(two_brands["owner_a"])

    # Without the paths (no JavaScript) the structure is lost: refused with a clear message, nothing queued.
    response = client.post(reverse("catalog:upload", args=["folder"]), {"brand": two_brands["acme"].pk, "files": files},
                           follow=True)
    assert "upload a ZIP of the folder instead" in response.content.decode()
    assert not ImportJob.objects.filter(brand=two_brands["acme"]).exists()

    for f in files:
        f.seek(0)
    response = client.post(reverse("catalog:upload", args=["folder"]),
                           {"brand": two_brands["acme"].pk, "files": files, "paths": json.dumps(list(members))})
    job = ImportJob.objects.get(brand=two_brands["acme"])
    assert response.status_code == 302 and response.url == reverse("catalog:job", args=[job.pk])
    assert job.status == ImportJob.Status.QUEUED and job.source.startswith("folder acme-cat")
    assert AuditEvent.objects.filter(action="catalog.upload", object_id=str(job.pk), actor=two_brands["owner_a"],
                                     after__source__startswith="folder acme-cat").exists()
    refused = "\n".join(job.errors)
    assert refused.count("path traversal refused") == 2 and escape in refused
    assert "acme-cat/images/huge.jpg" in refused and "member too big" in refused
    assert refused.count("cannot be written") == 2 and "acme-cat/images/boot.jpg/inner.jpg" in refused
    upload = Path(latest_upload())
    media = Path(settings.MEDIA_ROOT).resolve()
    for folder in [media, *media.parents, Path("/tmp"), upload, upload / "bundle"]:
        assert not (folder / escape).exists()

    import_upload(job.pk, str(upload / "bundle" / "acme-cat"))  # what the worker runs
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INDEXING and job.counts["references"] == 1
    ref = ReferenceItem.objects.get(ref_key="dir-1")
    assert (ref.images.count(), float(ref.msrp)) == (2, 180.0)
    assert not ReferenceItem.objects.filter(ref_key__in=["dir-broken", "dir-huge"]).exists()
    report = "\n".join(job.errors)
    assert escape in report and "dir-broken" in report and "dir-huge" in report  # refused members stay reported
    assert not upload.exists(), "the upload folder is removed once imported"
    status = client.get(reverse("catalog:job", args=[job.pk]), {"format": "json"}).json()
    assert status["errors"] == len(job.errors)


def test_folder_upload_refuses_unknown_kind_and_other_brands(two_brands, client):
    client.force_login(two_brands["owner_a"])
    assert client.post(reverse("catalog:upload", args=["tar"]), {"brand": two_brands["acme"].pk}).status_code == 404
    client.post(reverse("catalog:upload", args=["folder"]), {
        "brand": two_brands["zenit"].pk, "paths": json.dumps(["x/brands.jsonl"]),
        "files": [SimpleUploadedFile("brands.jsonl", b"{}")]})
    assert not ImportJob.objects.exists()
    page = client.get(reverse("catalog:references")).content.decode()
    assert 'id="folder-upload"' in page and "webkitdirectory" in page
