"""Validation of listings arriving from a marketplace (API and ``ingest_listings`` share it)."""
import base64
import binascii
import re

from django.conf import settings
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from anticounterfeit.detection.models import Detection
from anticounterfeit.listings.models import Listing
from ml.images import ImageError, load_image

ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
LIMITS = settings.UPLOAD_LIMITS


def check_image_bytes(data: bytes, label: str) -> None:
    """Refuse what a worker could not decode. A JPEG is decoded at 1/8 scale (``draft_size=1``): every byte
    of it is still read and entropy-decoded, so truncated or corrupt data fails as at full size, for less work."""

    try:
        load_image(data, max_bytes=LIMITS["MAX_IMAGE_BYTES"], max_pixels=LIMITS["MAX_IMAGE_PIXELS"], draft_size=1)
    except ImageError as exc:
        raise serializers.ValidationError(f"{label}: {exc}") from exc


def safe_filename(name: str) -> str:
    """The last path component only (either separator), plain characters, no leading dots or '..'."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9_.\-]", "_", base)).lstrip(".")
    return base[:60] or "image.jpg"


class Base64Field(serializers.CharField):
    """Base64 text, decoded by the serializer that holds it.

    DRF's surrogate-character check walks a string one character at a time in Python, which is most of a
    photo upload's cost. Strict base64 decoding already refuses anything outside its ASCII
    alphabet, so that check is left out here.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]


class Base64ImageSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=100)
    # Blank is checked in validate() so that the error names the image ("image 'x.jpg': empty file").
    content_base64 = Base64Field(max_length=LIMITS["MAX_IMAGE_BYTES"] * 2, allow_blank=True, trim_whitespace=False)

    def validate(self, attrs):
        name = attrs["filename"]
        try:
            data = base64.b64decode(attrs["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError({"content_base64": f"image '{name}': not valid base64"}) from exc
        check_image_bytes(data, f"image '{name}'")
        return {"filename": safe_filename(name), "data": data}


def _validate_id(value: str, field: str) -> str:
    if not ID_RE.match(value):
        raise serializers.ValidationError(f"{field} must be 1-64 characters of letters, digits, '_', '.', ':' or '-'")
    return value


class ListingIntakeSerializer(serializers.Serializer):
    listing_id = serializers.CharField(max_length=64)
    seller_id = serializers.CharField(max_length=64)
    seller_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seller_email = serializers.EmailField(required=False, allow_blank=True)
    title = serializers.CharField(max_length=LIMITS["MAX_TITLE"])
    description = serializers.CharField(max_length=LIMITS["MAX_DESCRIPTION"], required=False, allow_blank=True, default="")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, max_value=10_000_000, allow_null=True,
                                     required=False, default=None)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD", required=False,
                                      error_messages={"invalid": "currency must be a 3-letter ISO code such as USD"})
    images = Base64ImageSerializer(many=True, required=False, default=list)

    def validate_listing_id(self, value: str) -> str:
        return _validate_id(value, "listing_id")

    def validate_seller_id(self, value: str) -> str:
        return _validate_id(value, "seller_id")

    def validate_images(self, value):
        if len(value) > LIMITS["MAX_IMAGES_PER_LISTING"]:
            raise serializers.ValidationError(f"at most {LIMITS['MAX_IMAGES_PER_LISTING']} images per listing")
        return value


class ListingBatchSerializer(serializers.Serializer):
    listings = serializers.ListField(child=serializers.DictField(), max_length=LIMITS["MAX_BATCH"], allow_empty=False)


class DetectionSerializer(serializers.ModelSerializer):
    brand_id = serializers.CharField(source="brand.brand_key", default=None, allow_null=True)

    class Meta:
        model = Detection
        fields = ["score", "brand_id", "explanation", "model_version", "bank_version", "created_at"]


class ListingStatusSerializer(serializers.ModelSerializer):
    listing_id = serializers.CharField(source="listing_key")
    seller_id = serializers.CharField(source="seller.seller_key")
    brand_id = serializers.CharField(source="matched_brand.brand_key", default=None, allow_null=True)
    detection = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = ["listing_id", "seller_id", "title", "status", "score", "brand_id", "created_at", "detection"]

    def get_detection(self, obj) -> dict | None:
        detection = obj.detections.first()
        return DetectionSerializer(detection).data if detection else None


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    listing_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    errors = serializers.DictField(required=False)


class BatchResultSerializer(serializers.Serializer):
    """The body of a batch answer (207): one result per submitted item, in order."""

    results = BatchItemResultSerializer(many=True)


class CleanSalesSerializer(serializers.Serializer):
    """A marketplace's report of a seller's completed sales without complaints, up to ``period_end``."""

    report_id = serializers.CharField(max_length=64, help_text="The client's own id for this report: sending it "
                                                               "again (a retry) does not count the sales twice.")
    count = serializers.IntegerField(min_value=1, max_value=settings.TRUST["MAX_SALES_PER_REPORT"],
                                     help_text="Sales completed in the period without a complaint.")
    period_end = serializers.DateField(help_text="Last day of the reported period (not in the future).")

    def validate_report_id(self, value: str) -> str:
        return _validate_id(value, "report_id")

    def validate_count(self, value: int) -> int:
        limit = settings.TRUST["MAX_SALES_PER_REPORT"]  # read again: tests and deployments may lower it
        if value > limit:
            raise serializers.ValidationError(f"count: at most {limit} sales per report")
        return value

    def validate_period_end(self, value):
        import datetime

        from django.utils import timezone

        today = timezone.localdate()
        if value > today + datetime.timedelta(days=1):  # a day of slack for clients in other time zones
            raise serializers.ValidationError(f"period_end: {value.isoformat()} is in the future")
        oldest = today - datetime.timedelta(days=settings.TRUST["SALES_REPORT_MAX_AGE_DAYS"])
        if value < oldest:
            raise serializers.ValidationError(f"period_end: {value.isoformat()} is older than {oldest.isoformat()}; "
                                              "reports must be recent")
        return value


class CleanSalesReportSerializer(serializers.Serializer):
    report_id = serializers.CharField(source="report_key")
    seller_id = serializers.CharField(source="seller.seller_key")
    count = serializers.IntegerField()
    period_end = serializers.DateField()
    recorded_at = serializers.DateTimeField(source="created_at")
