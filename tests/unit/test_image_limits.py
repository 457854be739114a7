"""One limit for what a listing may carry: the API accepts exactly what the detector scans."""
from django.conf import settings
from PIL import Image

from ml.config import DetectorConfig, ImageLimits
from ml.detector import Detector
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.types import BrandInfo, ListingInput, ReferenceInfo, SellerInfo


def test_api_and_detector_share_one_limit():
    limits = DetectorConfig().limits
    assert settings.IMAGE_LIMITS == limits == ImageLimits()
    assert settings.UPLOAD_LIMITS["MAX_IMAGES_PER_LISTING"] == limits.max_images_per_listing
    assert settings.UPLOAD_LIMITS["MAX_IMAGE_BYTES"] == limits.max_image_bytes
    assert settings.UPLOAD_LIMITS["MAX_IMAGE_PIXELS"] == limits.max_image_pixels


def test_a_listing_with_the_most_images_allowed_has_every_image_scanned(tmp_path):
    models = load_models()
    Image.new("RGB", (320, 320), (10, 200, 30)).save(tmp_path / "ref.jpg")
    index = ReferenceIndex.build([BrandInfo("zorbex", "Zorbex", (), ())],
                                 [ReferenceInfo("z-1", "zorbex", "Trail Runner 5", "Running shoe.", 120.0, "USD",
                                                "product", (str(tmp_path / "ref.jpg"),))], models)
    count = settings.UPLOAD_LIMITS["MAX_IMAGES_PER_LISTING"]
    paths = []
    for n in range(count):
        path = tmp_path / f"lst-{n}.jpg"
        Image.new("RGB", (200, 200), (20 * n, 90, 160)).save(path)
        paths.append(str(path))
    listing = ListingInput("L1", SellerInfo("S1"), "Sports bag", "", 30.0, "USD", tuple(paths))
    [result] = Detector(models, index, config=DetectorConfig(limits=settings.IMAGE_LIMITS)).scan([listing], ocr=False)
    assert result.image_positions == list(range(count))
    assert len(result.pdq_hashes) == count
