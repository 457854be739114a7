"""load_image: refuses corrupt files and decompression bombs, fixes orientation, returns RGB."""
import io

import pytest
from PIL import Image

from ml.images import ImageError, load_image


def _jpeg(size=(64, 48), color=(200, 10, 10), **save_kw) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save_kw)
    return buf.getvalue()


def test_valid_jpeg_bytes_and_path(tmp_path):
    data = _jpeg()
    assert load_image(data).size == (64, 48)
    p = tmp_path / "a.jpg"
    p.write_bytes(data)
    im = load_image(str(p))
    assert im.mode == "RGB" and im.size == (64, 48)


def test_rejects_non_image_and_truncated(tmp_path):
    p = tmp_path / "x.jpg"
    p.write_bytes(b"this is not an image at all")
    with pytest.raises(ImageError, match="not a valid image"):
        load_image(str(p))
    data = _jpeg((256, 256))
    with pytest.raises(ImageError):
        load_image(data[: len(data) // 3])
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


def test_rejects_decompression_bomb():
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 Mpx, a few KB on disk
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(ImageError, match="pixels"):
        load_image(buf.getvalue())


def test_rejects_too_many_bytes():
    with pytest.raises(ImageError, match="too big"):
        load_image(_jpeg(), max_bytes=100)


def test_exif_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    data = _jpeg((80, 40), exif=exif.tobytes())
    assert load_image(data).size == (40, 80)


def test_rgba_flattened_to_rgb_on_white():
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buf, "PNG")
    im = load_image(buf.getvalue())
    assert im.mode == "RGB" and im.getpixel((5, 5)) == (255, 255, 255)


def test_draft_mode_decodes_large_jpeg_smaller():
    im = load_image(_jpeg((2048, 1536)), draft_size=512)
    assert 512 <= min(im.size) < 1536


def test_pdq_hashes_the_embedders_square_copy_and_is_part_of_the_model_version(monkeypatch):
    """PDQ reads the detector's 256 px square copy (no second resize); the hash method versions the banks."""
    import numpy as np

    from ml import pdq
    from ml.config import ModelsConfig
    from ml.images import square_pixels
    from ml.models import LoadedModels

    rng = np.random.default_rng(5)
    big = Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).resize((1024, 768), Image.BICUBIC)
    h = pdq.pdq_hex(big)
    assert h == pdq.pdq_hex_square(square_pixels(big, pdq.PDQ_SIDE))  # references and listings hash alike
    buf = io.BytesIO()
    big.resize((500, 375)).save(buf, "JPEG", quality=80)
    assert pdq.hamming(h, pdq.pdq_hex(Image.open(buf))) <= 16  # a re-encoded, smaller copy is a near-copy
    assert pdq.hamming(h, pdq.pdq_hex(big.convert("L"))) <= 16  # grey input is converted
    other = Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).resize((1024, 768), Image.BICUBIC)
    assert pdq.hamming(h, pdq.pdq_hex(other)) > 64
    with pytest.raises(ValueError, match="256x256"):
        pdq.pdq_hex_square(np.zeros((64, 64, 3), np.uint8))
    m = LoadedModels(image=None, text=None, config=ModelsConfig())  # version needs only the config
    before = m.version
    monkeypatch.setattr(pdq, "PDQ_VERSION", "pdq512")
    assert m.version != before and m.version.startswith("effl0-minilm-")
