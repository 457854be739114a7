"""What a moderator needs to judge a case: matches side by side, marked-up text, price, seller card and history.

Shared by the case page and the appeal page, so an appeal is judged on exactly the evidence the takedown saw.
"""
import re
from decimal import Decimal
from statistics import median

from django.db.models import Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from anticounterfeit.trust.models import SellerLink
from ml.brands import BrandMatcher
from ml.evasion import evasion_terms
from ml.textnorm import fold, squash
from ml.types import BrandInfo

from .models import Appeal, Case, Decision

# Plain words for the scorer's signals (ml.detector feature names), in the order a moderator reads them.
SIGNAL_WORDS = [
    ("pdq_match", "An image is a near-exact copy of a catalog photo", 0.5),
    ("img_sim", "A listing image looks like a catalog product photo", 0.6),
    ("logo_sim", "A logo in the images matches the brand's logo", 0.55),
    ("region_sim", "Part of an image matches a catalog product", 0.6),
    ("cf_sim", "An image matches a listing already confirmed counterfeit", 0.85),
    ("mention_title", "The title names the brand", 0.5),
    ("mention_obfuscated", "The brand name is disguised (look-alike letters, spacing)", 0.5),
    ("mention_fuzzy", "The brand name is misspelled", 0.5),
    ("mention_image", "Text read in an image (OCR) names the brand", 0.5),
    ("text_sim", "The text reads like a catalog product", 0.5),
    ("evasion_terms", "The text uses words sellers of fakes use ('replica', '1:1', ...)", 1.0),
    ("compatible_context", "Reads as a third-party 'compatible with' product (lowers risk)", 0.5),
    ("genuine_claims", "The seller claims the item is genuine", 1.0),
    ("seller_authorized", "The seller is authorized for this brand (lowers risk)", 0.5),
]
SIGNAL_KINDS = {"image": "img_sim", "logo": "logo_sim", "region": "region_sim", "copy": "pdq_match",
                "counterfeit": "cf_sim", "mention": "mention_any", "ocr": "mention_image", "evasion": "evasion_terms"}


def signal_lines(signals: dict) -> list[dict]:
    """The signals that fired, in plain words, with their strength."""
    out = []
    for key, words, floor in SIGNAL_WORDS:
        value = signals.get(key)
        if isinstance(value, int | float) and value >= floor:
            out.append({"key": key, "words": words, "value": value, "pct": min(100, round(100 * min(value, 1.0)))})
    return out


def signal_filter(kind: str) -> Q:
    """The queue filter for one signal type, with the same floors the case page uses to call it fired."""
    key = SIGNAL_KINDS[kind]
    floor = dict((k, f) for k, _, f in SIGNAL_WORDS).get(key, 0.5)
    return Q(**{f"detection__signals__{key}__gte": floor})


def match_rows(case: Case, limit: int = 8) -> list[dict]:
    """Pair each match with its reference and image, strongest first, for side-by-side evidence."""
    detection = case.detection
    if detection is None:
        return []
    matches = sorted(detection.matches, key=lambda m: -m["score"])
    refs = {r.ref_key: r for r in ReferenceItem.objects.filter(
        ref_key__in={m["ref_id"] for m in matches}).select_related("brand").prefetch_related("images")}
    listing_images = list(case.listing.images.all())
    rows, seen = [], set()
    for m in matches:
        key = (m["kind"], m["ref_id"], m.get("listing_image"), m.get("ref_image"))
        if key in seen:
            continue
        seen.add(key)
        ref = refs.get(m["ref_id"])
        ref_images = list(ref.images.all()) if ref else []
        ref_index = m.get("ref_image") or 0
        li = m.get("listing_image")
        rows.append({
            "match": m, "reference": ref,
            "ref_image": ref_images[ref_index] if ref_index < len(ref_images) else (ref_images[0] if ref_images else None),
            "listing_image": listing_images[li] if li is not None and li < len(listing_images) else None,
            "box": _box_style(m),
        })
    return rows[:limit]


# A region box is drawn from this match score up. A region match's box is the best of the sliding windows over
# the network's 8x8 feature map (or, for a verified small logo, the template's place). Each cell sees far beyond
# its own 32 pixels, so for a middling match the window scores are nearly flat and the best one lands anywhere:
# a 0.56 logo match boxed an empty corner. 0.75 is where the detector itself trusts image evidence alone (it
# reports matches of a brand it did not attribute from there; the small-logo stage is skipped above it).
BOX_MIN_SCORE = 0.75
# A "box" covering nearly the whole photo (the whole-image match) says nothing about where: none is drawn.
BOX_MAX_AREA = 0.9


def region_box(match: dict) -> tuple[float, float, float, float] | None:
    """The box worth drawing for ``match``: a region match's own place, strong enough to be real; else None."""
    box = match.get("box")
    if match.get("kind") != "region" or not box or match.get("score", 0.0) < BOX_MIN_SCORE:
        return None
    x0, y0, x1, y1 = (min(max(float(v), 0.0), 1.0) for v in box)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) >= BOX_MAX_AREA:
        return None
    return x0, y0, x1, y1


def _box_style(match: dict) -> str:
    box = region_box(match)
    if box is None:
        return ""
    x0, y0, x1, y1 = box
    return f"left:{x0 * 100:.1f}%;top:{y0 * 100:.1f}%;width:{(x1 - x0) * 100:.1f}%;height:{(y1 - y0) * 100:.1f}%"


_SAYS = re.compile(r"^(?P<fact>(title|description) says '.*?') \(")


def explanation_lines(lines: list[str]) -> list[str]:
    """The detector's explanation with one line per fact: a word matching several aliases of a brand was
    explained once per alias ("description says 'famsko'" twice); the first line of each fact is kept."""
    out, seen = [], set()
    for line in lines or []:
        said = _SAYS.match(line)
        key = said.group("fact").casefold() if said else line
        if key not in seen:
            seen.add(key)
            out.append(line)
    return out


def brand_infos(brands) -> list[BrandInfo]:
    return [b.matching_info() for b in brands if b]


def highlight(text: str, brands: list[BrandInfo]) -> SafeString:
    """Escape ``text`` and mark brand mentions and evasion wording, found the way the detector finds them.

    Matching is per whitespace token on folded text, so disguised spellings (homoglyphs, leetspeak) are marked too.
    """
    if not text:
        return mark_safe("")
    spans = [(m.start(), m.end(), squash(fold(m.group()))) for m in re.finditer(r"\S+", text)]
    keys = [s[2] for s in spans]
    marks: list[str | None] = [None] * len(spans)
    phrases = [("brand", m.found) for m in BrandMatcher(brands).find(text)] if brands else []
    phrases += [("evasion", t) for t in evasion_terms(text)]
    for cls, phrase in phrases:
        words = [w for w in (squash(x) for x in phrase.split()) if w]
        for i in range(len(keys) - len(words) + 1) if words else ():
            if keys[i:i + len(words)] == words:
                for j in range(i, i + len(words)):
                    marks[j] = marks[j] or cls
    out, pos = [], 0
    for (start, end, _), cls in zip(spans, marks, strict=True):
        out.append(escape(text[pos:start]))
        token = escape(text[start:end])
        out.append(f'<mark class="m-{cls}" title="{"brand mention" if cls == "brand" else "evasion wording"}">{token}</mark>'
                   if cls else token)
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))


def ocr_texts(detection, listing: Listing, brands: list[BrandInfo]) -> list[dict]:
    """Text the scan read in each listing image, marked like the title, with the image it came from.

    OCR runs only when the title and description name no brand, so when this is non-empty it is evidence the
    moderator has not seen in the text; ``named`` says whether it named a brand (and so counted in the score).
    """
    texts = (detection.image_text or {}) if detection is not None else {}
    if not texts:
        return []
    images = {image.position: image for image in listing.images.all()}
    out = []
    for key, text in sorted(texts.items(), key=lambda kv: int(kv[0])):
        html = highlight(text, brands)
        out.append({"position": int(key), "image": images.get(int(key)), "html": html,
                    "named": 'class="m-brand"' in html})
    return out


def price_context(listing: Listing, rows: list[dict]) -> dict:
    """Price against the best-matched reference's MSRP and against the brand's catalog median."""
    ref_msrp = next((r["reference"].msrp for r in rows if r["reference"] is not None and r["reference"].msrp), None)
    brand_median = None
    if listing.matched_brand_id:
        msrps = [m for m in ReferenceItem.objects.filter(brand_id=listing.matched_brand_id, msrp__isnull=False)
                 .values_list("msrp", flat=True)]
        brand_median = Decimal(median(msrps)).quantize(Decimal("0.01")) if msrps else None

    def pct(ref):
        return round(100 * float(listing.price) / float(ref)) if ref and listing.price is not None else None

    return {"ref_msrp": ref_msrp, "msrp_pct": pct(ref_msrp), "brand_median": brand_median,
            "median_pct": pct(brand_median)}


def listings_sharing_images(listing: Listing) -> QuerySet:
    """Other listings with an identical (SHA-256) or near-identical (PDQ) image: often one seller under many names.

    Built from subqueries, so it costs nothing until counted or listed.
    Within the listing's tenant only: another marketplace's listings and sellers are never shown on this case.
    """
    own = ListingImage.objects.filter(listing_id=listing.pk)
    same = ListingImage.objects.filter(
        Q(sha256__in=own.exclude(sha256="").values("sha256")) | Q(pdq__in=own.exclude(pdq="").values("pdq")))
    return Listing.objects.filter(pk__in=same.values("listing_id"), client_id=listing.client_id).exclude(pk=listing.pk)


def related_open_cases(case: Case, scope: str, user) -> QuerySet:
    """Open cases the moderator may decide together with ``case``: same seller, or sharing its images."""
    cases = Case.objects.visible_to(user).filter(state=Case.State.OPEN)
    if scope == "seller":
        return cases.filter(listing__seller_id=case.listing.seller_id)
    if scope == "image":
        return cases.filter(Q(listing__in=listings_sharing_images(case.listing)) | Q(pk=case.pk))
    raise ValueError(f"scope: '{scope}' is not one of seller, image")


def seller_card(seller: Seller, listing: Listing, case: Case, user) -> dict:
    """The seller's standing: rating with tier and trend, record, authorization, other open cases, shared images."""
    trend = list(seller.trust_events.order_by("-occurred_at", "-id").values_list("rating_after", flat=True)[:6])[::-1]
    sharing = listings_sharing_images(listing)
    return {
        "trend": trend,
        "trend_delta": (trend[-1] - trend[0]) if len(trend) > 1 else 0,
        "authorized": listing.matched_brand_id is not None and seller.authorizations.filter(
            brand_id=listing.matched_brand_id).exists(),
        "open_cases": list(Case.objects.open().filter(listing__seller=seller).exclude(pk=case.pk)
                           .select_related("listing").order_by("-priority")[:5]),
        "open_cases_count": Case.objects.open().filter(listing__seller=seller).exclude(pk=case.pk).count(),
        "takedowns": Decision.objects.filter(case__listing__seller=seller, action=Decision.Action.TAKEDOWN).count(),
        "sharing": list(sharing.select_related("seller").order_by("-created_at")[:5]),
        "sharing_count": sharing.count(),
        # Shared-image evidence to review: links of this seller, and those suggested by this (counterfeit) listing.
        "links": list(SellerLink.objects.filter(Q(seller=seller) | Q(source_listing=listing)).select_related(
            "seller", "linked_seller", "listing", "source_listing")[:10]),
        "seller_open": related_open_cases(case, "seller", user).count(),
        "sharing_open": related_open_cases(case, "image", user).exclude(pk=case.pk).count(),
    }


def history(listing: Listing) -> dict:
    """Every decision, appeal and audit event for the listing, across all its cases."""
    case_ids = list(listing.cases.values_list("pk", flat=True))
    decisions = list(Decision.objects.filter(case_id__in=case_ids).select_related("moderator").order_by("-created_at"))
    appeals = list(Appeal.objects.filter(decision__in=decisions).select_related("decided_by").order_by("-created_at"))
    events = AuditEvent.objects.filter(
        Q(object_type="listings.listing", object_id=str(listing.pk))
        | Q(object_type="moderation.case", object_id__in=[str(pk) for pk in case_ids])
        | Q(object_type="moderation.appeal", object_id__in=[str(a.pk) for a in appeals])
    ).exclude(action="seller.view")[:50]
    return {"decisions": decisions, "appeals": appeals, "events": list(events)}


def brands_for(listing: Listing, rows: list[dict]) -> list[Brand]:
    """The brands whose names are worth marking in this listing's text: the matched one and those of the matches."""
    brands = {r["reference"].brand for r in rows if r["reference"] is not None}
    if listing.matched_brand is not None:
        brands.add(listing.matched_brand)
    return sorted(brands, key=lambda b: b.pk)
