"""From a takedown decision to its statement of reasons: the Transparency Database object and the seller's text.

The mapping of the marketplace's reason codes to DSA grounds and categories lives here, once.
"""
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from . import dsa_rules

COUNTERFEIT_LAW = ("Trade mark law: offering counterfeit goods under a protected trade mark without the owner's "
                   "consent (Regulation (EU) 2017/1001, Article 9, and the national trade mark laws)")
TERMS_POLICY = "Marketplace terms, counterfeit and intellectual-property policy, section 2"


@dataclass(frozen=True)
class Ground:
    """How one takedown reason is stated: the DSA ground, its category keyword, and the seller's wording."""

    decision_ground: str
    keyword: str
    wording: str


GROUNDS = {
    "counterfeit": Ground("DECISION_GROUND_ILLEGAL_CONTENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
                          "illegal content: the listing offers counterfeit goods"),
    "trademark_misuse": Ground("DECISION_GROUND_INCOMPATIBLE_CONTENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
                               "incompatible with the marketplace's terms: misuse of a brand's trademarks"),
    "unauthorized_images": Ground("DECISION_GROUND_INCOMPATIBLE_CONTENT", "KEYWORD_COPYRIGHT_INFRINGEMENT",
                                  "incompatible with the marketplace's terms: a brand's images used without permission"),
}
CATEGORY = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
RESTRICTION = "DECISION_VISIBILITY_CONTENT_REMOVED"
NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


def _day(moment: datetime) -> str:
    """A UTC calendar day, the API's ``Y-m-d``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def facts_text(decision, *, brand_name: str, via_brand: bool) -> str:
    """The facts relied on, from the detection's explanation with nothing confidential (``dsa_rules.public_facts``)."""
    case = decision.case
    lines = [f"The listing {case.listing.listing_key} ({case.listing.title[:200]}) was removed: "
             f"{GROUNDS[decision.reason_code].wording}."]
    if via_brand:
        lines.append(f"The removal was made by {brand_name or 'the brand owner'}, the rights holder, under the "
                     "marketplace's self-service removal programme for brands with a proven reporting record.")
    elif case.source == "brand_report":
        lines.append(f"{brand_name or 'A rights holder'} reported the listing; a moderator reviewed it.")
    else:
        lines.append("Automated detection found the listing, and a moderator reviewed it.")
    detection = case.detection
    observed = dsa_rules.public_facts(detection.explanation if detection is not None else [])
    if observed:
        lines.append("What was observed: " + "; ".join(observed) + ".")
    return "\n".join(lines)[:5000]


def redress_text(deadline: datetime | None) -> str:
    until = f" until {deadline:%d %B %Y}" if deadline else ""
    return (f"You can appeal this decision free of charge{until} from the notice in your seller center (internal "
            "complaint-handling, DSA Article 20). A lead moderator who did not take the decision reviews it. You may "
            "also turn to a certified out-of-court dispute settlement body (Article 21) or to a court.")


def build(decision, *, appeal_deadline: datetime | None, via_brand: bool) -> dict:
    """The statement-of-reasons fields for a takedown: the API object (``payload``) and the columns kept beside it.

    ``via_brand``: a brand's self-service removal (the brand's notice, and the brand acted).
    """
    case, listing = decision.case, decision.case.listing
    ground = GROUNDS[decision.reason_code]
    brand = listing.matched_brand
    brand_name = brand.name if brand else ""
    cfg = settings.DSA
    automated_detection = case.source == "scan" and case.detection is not None
    facts = facts_text(decision, brand_name=brand_name, via_brand=via_brand)
    decided_at = decision.created_at or timezone.now()
    payload = {
        "decision_visibility": [RESTRICTION],
        "decision_ground": ground.decision_ground,
        "category": CATEGORY,
        "category_specification": [ground.keyword],
        "content_type": ["CONTENT_TYPE_PRODUCT"],
        "territorial_scope": list(cfg["TERRITORIAL_SCOPE"] or dsa_rules.EU_COUNTRY_CODES),
        "content_date": _day(listing.created_at),
        "application_date": _day(decided_at),
        "decision_facts": facts,
        "source_type": "SOURCE_VOLUNTARY" if automated_detection else "SOURCE_ARTICLE_16",
        "automated_detection": "Yes" if automated_detection else "No",
        "automated_decision": NOT_AUTOMATED,
        "puid": dsa_rules.safe_puid(f"{listing.listing_key}-d{decision.pk}"),
    }
    if not automated_detection:
        payload["source_identity"] = (brand_name or "rights holder")[:500]
    if cfg["TERMS_URL"]:
        payload["decision_ground_reference_url"] = cfg["TERMS_URL"]
    if ground.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        payload["illegal_content_legal_ground"] = COUNTERFEIT_LAW
        payload["illegal_content_explanation"] = (
            f"The listing offers goods bearing {brand_name or 'a protected brand'}'s trade mark that the evidence "
            "shows are not genuine, without the trade mark owner's consent.")[:2000]
    else:
        payload["incompatible_content_ground"] = TERMS_POLICY
        payload["incompatible_content_explanation"] = (
            f"The listing {ground.wording.split(': ', 1)[1]}"
            f"{' (' + brand_name + ')' if brand_name else ''}, which the policy does not allow.")[:2000]
        payload["incompatible_content_illegal"] = "No"
    detection = case.detection
    return {
        "payload": dsa_rules.check(payload),
        "puid": payload["puid"], "restriction": RESTRICTION, "ground": ground.decision_ground, "category": CATEGORY,
        "automated_detection": automated_detection, "automated_decision": NOT_AUTOMATED, "facts": facts,
        "redress": redress_text(appeal_deadline), "appeal_deadline": appeal_deadline,
        "detected_at": detection.created_at if detection is not None else case.opened_at,
        "decided_at": decided_at,
    }
