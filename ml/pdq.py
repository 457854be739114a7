"""PDQ perceptual hashes (near-exact copies) as hex strings and packed bytes."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ml.images import square_pixels

PDQ_BITS = 256
# PDQ reduces every image to a 64x64 luma square before its DCT. The detector already holds each image as
# a 256x256 squash-resized copy (the embedder's input, ml.images.square_pixels), so the hash is computed from
# that copy area-averaged to 64x64, far cheaper than resizing and filtering the decoded photo,
# with the same near-copy matches per fakebench category at distance 48. Hashes of one image differ between
# methods, so the method is part of the hash version: ml.models.LoadedModels.version includes PDQ_VERSION, the
# embedding cache misses and banks built under another version are known to need a rebuild.
PDQ_SIDE = 256
PDQ_GRID = 64
PDQ_VERSION = f"pdq-sq{PDQ_SIDE}-box{PDQ_GRID}"


def pdq_hex(image: Image.Image) -> str:
    """64-hex-char PDQ hash of an image (any size or mode), by the same method as ``pdq_hex_square``."""

    return pdq_hex_square(square_pixels(image, PDQ_SIDE))


def pdq_hex_of(image: Image.Image, square: np.ndarray) -> str:
    """PDQ hash of ``image`` given its embedder square (``square_pixels``): hashed from the square when it has
    PDQ's working size, so the resize is not done twice; same value as ``pdq_hex(image)`` either way."""
    return pdq_hex_square(square) if square.shape[:2] == (PDQ_SIDE, PDQ_SIDE) else pdq_hex(image)


def pdq_hex_square(pixels: np.ndarray) -> str:
    """PDQ hash of a (PDQ_SIDE, PDQ_SIDE, 3) uint8 square (``ml.images.square_pixels``)."""
    import pdqhash

    if pixels.shape != (PDQ_SIDE, PDQ_SIDE, 3):
        raise ValueError(f"expected a {PDQ_SIDE}x{PDQ_SIDE} RGB square, got {pixels.shape}")
    grid = Image.fromarray(pixels).reduce(PDQ_SIDE // PDQ_GRID)  # box average by an integer factor, in C
    bits, _quality = pdqhash.compute(np.asarray(grid, np.uint8))
    return np.packbits(np.asarray(bits, np.uint8)).tobytes().hex()


def hex_to_bytes(hexes: list[str]) -> np.ndarray:
    """(N, 32) uint8 array for faiss binary indexes."""
    if not hexes:
        return np.zeros((0, PDQ_BITS // 8), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(len(hexes), PDQ_BITS // 8)


def hamming(a: str, b: str) -> int:
    return int(np.unpackbits(hex_to_bytes([a])[0] ^ hex_to_bytes([b])[0]).sum())
