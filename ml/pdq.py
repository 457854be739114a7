"""PDQ perceptual hashes (near-exact copies) as hex strings and packed bytes."""
from __future__ import annotations

import numpy as np
from PIL import Image

PDQ_BITS = 256


def pdq_hex(image: Image.Image) -> str:
    """64-hex-char PDQ hash of an RGB image (downsized first: PDQ works on 64x64 anyway)."""
    import pdqhash

    im = image.convert("RGB")
    if max(im.size) > 512:
        im = im.copy()
        im.thumbnail((512, 512))
    bits, _quality = pdqhash.compute(np.asarray(im, np.uint8))
    return np.packbits(np.asarray(bits, np.uint8)).tobytes().hex()


def hex_to_bytes(hexes: list[str]) -> np.ndarray:
    """(N, 32) uint8 array for faiss binary indexes."""
    if not hexes:
        return np.zeros((0, PDQ_BITS // 8), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(len(hexes), PDQ_BITS // 8)


def hamming(a: str, b: str) -> int:
    return int(np.unpackbits(hex_to_bytes([a])[0] ^ hex_to_bytes([b])[0]).sum())
