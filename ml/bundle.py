"""Read and validate a catalog/listing bundle (folder or ZIP) in the JSONL bundle format (docs/architecture.md, Data formats).

A bad line is skipped with a precise error (file, line, item, field); everything else is kept.
"""
from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field

from ml.types import BrandInfo, ListingInput, ReferenceInfo, SellerInfo

MAX_TITLE = 300
MAX_DESCRIPTION = 10_000
MAX_NAME = 200
MAX_PRICE = 10_000_000.0
MAX_IMAGES = 20
ZIP_MAX_MEMBERS = 20_000
ZIP_MAX_TOTAL = 2 * 1024**3
ZIP_MAX_MEMBER = 50 * 1024**2
ZIP_MAX_RATIO = 100.0
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class BundleError:
    file: str
    line: int | None
    item_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        s = self.file
        if self.line is not None:
            s += f" line {self.line}"
        if self.item_id is not None:
            s += f" ({self.item_id})"
        if self.field is not None:
            s += f": field '{self.field}'"
        return f"{s}: {self.message}"


@dataclass
class Bundle:
    root: str
    brands: list[BrandInfo] = field(default_factory=list)
    references: list[ReferenceInfo] = field(default_factory=list)
    sellers: dict[str, SellerInfo] = field(default_factory=dict)
    listings: list[ListingInput] = field(default_factory=list)
    labels: dict[str, dict] = field(default_factory=dict)
    errors: list[BundleError] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, field_name: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


# ---- field validators -------------------------------------------------------------------------
def _str(d: dict, k: str, *, required: bool = True, max_len: int = MAX_NAME, default: str = "") -> str:
    if k not in d or d[k] is None:
        if required:
            raise _Invalid(k, "required")
        return default
    v = d[k]
    if not isinstance(v, str):
        raise _Invalid(k, "must be a string")
    if required and not v.strip():
        raise _Invalid(k, "must not be empty")
    if len(v) > max_len:
        raise _Invalid(k, f"longer than {max_len} characters")
    return v


def _num(d: dict, k: str, *, nullable: bool, lo: float = 0.0, hi: float = MAX_PRICE) -> float | None:
    v = d.get(k)
    if v is None:
        if nullable:
            return None
        raise _Invalid(k, "required")
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or not (lo <= v <= hi):
        raise _Invalid(k, f"must be a number >= {lo:g} and <= {hi:g}")
    return float(v)


def _int(d: dict, k: str, default: int = 0) -> int:
    v = d.get(k, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _Invalid(k, "must be an integer >= 0")
    return v


def _str_list(d: dict, k: str, max_len: int = MAX_NAME) -> tuple[str, ...]:
    v = d.get(k, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and len(x) <= max_len for x in v):
        raise _Invalid(k, "must be a list of strings")
    return tuple(v)


def _currency(d: dict) -> str:
    v = d.get("currency", "USD")
    if not isinstance(v, str) or not _CURRENCY.match(v):
        raise _Invalid("currency", "must be a 3-letter upper-case currency code")
    return v


def _images(d: dict, root: str, *, required: bool) -> tuple[str, ...]:
    v = d.get("images", [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Invalid("images", "must be a list of relative paths")
    if required and not v:
        raise _Invalid("images", "at least one image is required")
    if len(v) > MAX_IMAGES:
        raise _Invalid("images", f"more than {MAX_IMAGES} images")
    out = []
    real_root = os.path.realpath(root)
    for p in v:
        if os.path.isabs(p) or p.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", p):
            raise _Invalid("images", f"absolute path not allowed: {p!r}")
        if ".." in re.split(r"[\\/]", p):
            raise _Invalid("images", f"'..' not allowed in path: {p!r}")
        full = os.path.realpath(os.path.join(root, p))
        if not full.startswith(real_root + os.sep):
            raise _Invalid("images", f"path escapes the bundle: {p!r}")
        if not os.path.isfile(full):
            raise _Invalid("images", f"file not found in bundle: {p!r}")
        out.append(full)
    return tuple(out)


_FIELDS = {
    "brands.jsonl": {"brand_id", "name", "aliases", "protected_terms"},
    "catalog.jsonl": {"ref_id", "brand_id", "title", "description", "msrp", "currency", "images", "kind"},
    "authorized_sellers.jsonl": {"brand_id", "seller_id"},
    "sellers.jsonl": {"seller_id", "name", "account_age_days", "prior_takedowns", "prior_sales", "trust_rating"},
    "listings.jsonl": {"listing_id", "seller_id", "title", "description", "price", "currency", "images"},
    "labels.jsonl": {"listing_id", "counterfeit", "brand_id", "category"},
}
_ID = {"brands.jsonl": "brand_id", "catalog.jsonl": "ref_id", "sellers.jsonl": "seller_id",
       "listings.jsonl": "listing_id", "labels.jsonl": "listing_id", "authorized_sellers.jsonl": "seller_id"}


def _rows(root: str, name: str, errors: list[BundleError], *, required: bool):
    path = os.path.join(root, name)
    if not os.path.exists(path):
        if required:
            errors.append(BundleError(name, None, None, None, "file missing"))
        return
    seen: set[str] = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(BundleError(name, n, None, None, f"invalid JSON: {exc.msg}"))
                continue
            if not isinstance(d, dict):
                errors.append(BundleError(name, n, None, None, "must be a JSON object"))
                continue
            idk = _ID[name]
            item = f"{idk}={d.get(idk)}" if isinstance(d.get(idk), str) else None
            for k in sorted(set(d) - _FIELDS[name]):
                errors.append(BundleError(name, n, item, k, "unknown field (ignored)"))
            key = d.get(idk) if name != "authorized_sellers.jsonl" else f"{d.get('brand_id')}/{d.get('seller_id')}"
            if isinstance(key, str) and key in seen:
                errors.append(BundleError(name, n, item, idk, "duplicate id (line skipped)"))
                continue
            yield n, item, d
            if isinstance(key, str):
                seen.add(key)


def read_bundle(path: str, extract_to: str | None = None) -> Bundle:
    """Read a bundle folder, or a ZIP (safe members are extracted into ``extract_to``)."""
    errors: list[BundleError] = []
    if os.path.isfile(path) and zipfile.is_zipfile(path):
        if not extract_to:
            raise ValueError("extract_to is required for a ZIP bundle")
        root = _safe_extract(path, extract_to, errors)
    else:
        root = path
    b = Bundle(root=os.path.abspath(root), errors=errors)

    def guard(name, n, item, fn):
        try:
            return fn()
        except _Invalid as exc:
            errors.append(BundleError(name, n, item, exc.field, exc.message))
            return None

    for n, item, d in _rows(root, "brands.jsonl", errors, required=True):
        v = guard("brands.jsonl", n, item, lambda d=d: BrandInfo(
            _str(d, "brand_id"), _str(d, "name"), _str_list(d, "aliases"), _str_list(d, "protected_terms")))
        if v:
            b.brands.append(v)
    brand_ids = {x.brand_id for x in b.brands}

    def ref(d):
        bid = _str(d, "brand_id")
        if bid not in brand_ids:
            raise _Invalid("brand_id", f"unknown brand {bid!r}")
        kind = d.get("kind", "product")
        if kind not in ("product", "logo"):
            raise _Invalid("kind", "must be 'product' or 'logo'")
        return ReferenceInfo(_str(d, "ref_id"), bid, _str(d, "title", max_len=MAX_TITLE),
                             _str(d, "description", required=False, max_len=MAX_DESCRIPTION),
                             _num(d, "msrp", nullable=True), _currency(d), kind, _images(d, root, required=True))

    for n, item, d in _rows(root, "catalog.jsonl", errors, required=False):
        v = guard("catalog.jsonl", n, item, lambda d=d: ref(d))
        if v:
            b.references.append(v)

    auth: dict[str, set[str]] = {}
    for n, item, d in _rows(root, "authorized_sellers.jsonl", errors, required=False):
        def one(d=d):
            bid, sid = _str(d, "brand_id"), _str(d, "seller_id")
            if bid not in brand_ids:
                raise _Invalid("brand_id", f"unknown brand {bid!r}")
            return bid, sid
        v = guard("authorized_sellers.jsonl", n, item, one)
        if v:
            auth.setdefault(v[1], set()).add(v[0])

    def seller(d):
        sid = _str(d, "seller_id")
        tr = _num(d, "trust_rating", nullable=True, lo=350, hi=950)
        return SellerInfo(sid, _int(d, "account_age_days"), _int(d, "prior_takedowns"), _int(d, "prior_sales"), tr,
                          frozenset(auth.get(sid, ())), name=_str(d, "name", required=False, max_len=200))

    for n, item, d in _rows(root, "sellers.jsonl", errors, required=False):
        v = guard("sellers.jsonl", n, item, lambda d=d: seller(d))
        if v:
            b.sellers[v.seller_id] = v

    def listing(d):
        sid = _str(d, "seller_id")
        s = b.sellers.get(sid) or SellerInfo(sid, authorized_brands=frozenset(auth.get(sid, ())))
        return ListingInput(_str(d, "listing_id"), s, _str(d, "title", max_len=MAX_TITLE),
                            _str(d, "description", required=False, max_len=MAX_DESCRIPTION),
                            _num(d, "price", nullable=True), _currency(d), _images(d, root, required=False))

    for n, item, d in _rows(root, "listings.jsonl", errors, required=False):
        v = guard("listings.jsonl", n, item, lambda d=d: listing(d))
        if v:
            b.listings.append(v)

    for n, item, d in _rows(root, "labels.jsonl", errors, required=False):
        if not isinstance(d.get("listing_id"), str) or not isinstance(d.get("counterfeit"), bool):
            errors.append(BundleError("labels.jsonl", n, item, "counterfeit", "listing_id and boolean counterfeit required"))
            continue
        b.labels[d["listing_id"]] = d
    return b


def member_problem(member: str, dest: str, size: int, total: int, compressed: int | None = None) -> str | None:
    """Why a bundle member (a ZIP entry or an uploaded folder file) may not be written under ``dest``, or None.

    ``dest`` is a realpath; ``total`` is what was accepted so far. Shared by ZIP extraction and the
    brand portal's folder upload, so both refuse the same members with the same words.
    """
    if (not member or "\x00" in member or member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member)
            or ".." in re.split(r"[\\/]", member)
            or not os.path.realpath(os.path.join(dest, member)).startswith(dest + os.sep)):
        return "path traversal refused"
    if size > ZIP_MAX_MEMBER:
        return f"member too big ({size} bytes)"
    if compressed and size / compressed > ZIP_MAX_RATIO:
        return "compression ratio too high (zip bomb?)"
    if total + size > ZIP_MAX_TOTAL:
        return "archive too big in total"
    return None


def bundle_root(dest: str) -> str:
    """The bundle folder inside ``dest``: a ZIP or a picked folder may wrap everything in one top folder."""
    entries = [e for e in os.listdir(dest) if not e.startswith(".")]
    if not os.path.exists(os.path.join(dest, "brands.jsonl")) and len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0])):
        return os.path.join(dest, entries[0])
    return dest


def _safe_extract(zip_path: str, dest: str, errors: list[BundleError]) -> str:
    """Extract only safe members: no traversal/absolute paths/links, bounded count, size and ratio."""
    dest = os.path.realpath(dest)
    os.makedirs(dest, exist_ok=True)
    name = os.path.basename(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            errors.append(BundleError(name, None, None, None, f"too many members ({len(infos)} > {ZIP_MAX_MEMBERS})"))
            return dest
        total = 0
        for info in infos:
            member = info.filename
            if info.is_dir():
                continue
            target = os.path.realpath(os.path.join(dest, member))
            problem = member_problem(member, dest, info.file_size, total, info.compress_size)
            if problem is None and stat.S_ISLNK(info.external_attr >> 16):
                problem = "symbolic link refused"
            if problem:
                errors.append(BundleError(name, None, member, None, problem))
                continue
            total += info.file_size
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                remaining = ZIP_MAX_MEMBER + 1
                while chunk := src.read(1 << 20):
                    remaining -= len(chunk)
                    if remaining < 0:
                        break
                    out.write(chunk)
            if remaining < 0:
                os.remove(target)
                errors.append(BundleError(name, None, member, None, "member larger than declared"))
    return bundle_root(dest)
