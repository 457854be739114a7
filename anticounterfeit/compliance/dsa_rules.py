"""The EU DSA Transparency Database's statement-of-reasons rules, as data and one pure ``validate`` function.

Transcribed from the public repository digital-services-act/transparency-database (the API's statement rules,
``GroupedSubmissionsService::multi_rules``, and the allowed keys in ``app/Models/Statement.php``), so a statement
is refused here, with the field named, before it is stored, exported or posted. Framework-free: the local stub of
the database in the tests applies the same rules.
"""
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

DECISION_VISIBILITIES = ("DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
                         "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
                         "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
                         "DECISION_VISIBILITY_OTHER")
DECISION_MONETARIES = ("DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER")
DECISION_PROVISIONS = ("DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
                       "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION")
DECISION_ACCOUNTS = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
DECISION_GROUNDS = ("DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT")
INCOMPATIBLE_CONTENT_ILLEGALS = ("Yes", "No")
CONTENT_TYPES = ("CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
                 "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER")
STATEMENT_CATEGORIES = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE", "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE")
KEYWORDS = (
    "KEYWORD_ANIMAL_HARM", "KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS", "KEYWORD_BIOMETRIC_DATA_BREACH", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS", "KEYWORD_COORDINATED_HARM", "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_DANGEROUS_TOYS", "KEYWORD_DATA_FALSIFICATION", "KEYWORD_DEFAMATION", "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION", "KEYWORD_DISINFORMATION", "KEYWORD_FOREIGN_INFORMATION_MANIPULATION",
    "KEYWORD_GENDER_BASED_VIOLENCE", "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT", "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "KEYWORD_HATE_SPEECH",
    "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING", "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE", "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_INAUTHENTIC_USER_REVIEWS", "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_TRADERS", "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_MISINFORMATION",
    "KEYWORD_MISSING_PROCESSING_GROUND", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE",
    "KEYWORD_NUDITY", "KEYWORD_ONLINE_BULLYING_INTIMIDATION", "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_PHISHING",
    "KEYWORD_PYRAMID_SCHEMES", "KEYWORD_REGULATED_GOODS_SERVICES", "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE", "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_SELF_MUTILATION", "KEYWORD_STALKING",
    "KEYWORD_SUICIDE", "KEYWORD_TERRORIST_CONTENT", "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT", "KEYWORD_UNLAWFUL_SALE_ANIMALS", "KEYWORD_UNSAFE_CHALLENGES", "KEYWORD_OTHER")
SOURCE_TYPES = ("SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY")
AUTOMATED_DETECTIONS = ("Yes", "No")
AUTOMATED_DECISIONS = ("AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED")
EU_COUNTRY_CODES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
                    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK")
EEA_COUNTRY_CODES = EU_COUNTRY_CODES + ("IS", "LI", "NO")

PUID = re.compile(r"[a-zA-Z0-9\-_]+")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RESTRICTIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")

# Every field the API accepts: anything else is dropped by the API, so an export carries none.
FIELDS = (
    "decision_visibility", "decision_visibility_other", "decision_monetary", "decision_monetary_other",
    "decision_provision", "decision_account", "account_type", "category_specification", "category_specification_other",
    "decision_ground", "decision_ground_reference_url", "illegal_content_legal_ground", "illegal_content_explanation",
    "incompatible_content_ground", "incompatible_content_explanation", "incompatible_content_illegal", "content_type",
    "content_type_other", "category", "category_addition", "territorial_scope", "content_language", "content_date",
    "application_date", "end_date_account_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_visibility_restriction", "decision_facts", "source_type",
    "source_identity", "automated_detection", "automated_decision", "puid")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class StatementInvalid(ValueError):
    """A statement the Transparency Database would refuse; ``errors`` name each field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("statement of reasons refused: " + "; ".join(str(e) for e in errors))


def _blank(value) -> bool:
    return value is None or value == "" or value == []


def _date(value, *, low: str | None, high: str = "2038-01-01") -> str | None:
    """Why ``value`` is not a ``Y-m-d`` date within the bounds, or None."""
    if not isinstance(value, str) or not DATE.fullmatch(value):
        return "must be a date in the format YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "is not a calendar date"
    if low is not None and value < low:
        return f"must be on or after {low}"
    if value > high:
        return f"must be on or before {high}"
    return None


def _one_of(value, allowed: tuple[str, ...]) -> bool:
    return isinstance(value, str) and value in allowed


def _list_of(value, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, list):
        return "must be a list"
    bad = [v for v in value if not _one_of(v, allowed)]
    return f"has values that are not allowed: {', '.join(map(str, bad))}" if bad else None


def validate(statement: dict) -> list[FieldError]:
    """Every rule the API applies to one statement; an empty list means it would be accepted."""
    s, errors = statement, []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field, message))

    def max_len(field: str, limit: int) -> None:
        value = s.get(field)
        if value is not None and len(str(value)) > limit:
            err(field, f"must be at most {limit} characters")

    if all(_blank(s.get(f)) for f in RESTRICTIONS):
        err("decision_visibility", "one of decision_visibility, decision_monetary, decision_provision or "
                                   "decision_account is required")
    if not _blank(s.get("decision_visibility")) and (msg := _list_of(s["decision_visibility"], DECISION_VISIBILITIES)):
        err("decision_visibility", msg)
    if "DECISION_VISIBILITY_OTHER" in (s.get("decision_visibility") or []) and _blank(s.get("decision_visibility_other")):
        err("decision_visibility_other", "is required when decision visibility is other")
    for field, allowed in (("decision_monetary", DECISION_MONETARIES), ("decision_provision", DECISION_PROVISIONS),
                           ("decision_account", DECISION_ACCOUNTS), ("account_type", ACCOUNT_TYPES)):
        if not _blank(s.get(field)) and not _one_of(s[field], allowed):
            err(field, f"'{s[field]}' is not one of the allowed values")
    if s.get("decision_monetary") == "DECISION_MONETARY_OTHER" and _blank(s.get("decision_monetary_other")):
        err("decision_monetary_other", "is required when decision monetary is other")
    if not _blank(s.get("category_specification")) and (msg := _list_of(s["category_specification"], KEYWORDS)):
        err("category_specification", msg)

    ground = s.get("decision_ground")
    if _blank(ground):
        err("decision_ground", "is required")
    elif not _one_of(ground, DECISION_GROUNDS):
        err("decision_ground", f"'{ground}' is not one of the allowed values")
    url = s.get("decision_ground_reference_url")
    if not _blank(url):
        parsed = urlparse(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            err("decision_ground_reference_url", "must be a valid URL")
    for field, needed_for in (("illegal_content_legal_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
                              ("illegal_content_explanation", "DECISION_GROUND_ILLEGAL_CONTENT"),
                              ("incompatible_content_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
                              ("incompatible_content_explanation", "DECISION_GROUND_INCOMPATIBLE_CONTENT")):
        if ground == needed_for and _blank(s.get(field)):
            err(field, f"is required when decision ground is {needed_for}")
    if ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT" and not _blank(s.get("incompatible_content_illegal")) \
            and not _one_of(s["incompatible_content_illegal"], INCOMPATIBLE_CONTENT_ILLEGALS):
        err("incompatible_content_illegal", "must be Yes or No")

    content_type = s.get("content_type")
    if _blank(content_type):
        err("content_type", "is required")
    elif msg := _list_of(content_type, CONTENT_TYPES):
        err("content_type", msg)
    if isinstance(content_type, list) and "CONTENT_TYPE_OTHER" in content_type and _blank(s.get("content_type_other")):
        err("content_type_other", "is required when content type is other")

    if _blank(s.get("category")):
        err("category", "is required")
    elif not _one_of(s["category"], STATEMENT_CATEGORIES):
        err("category", f"'{s['category']}' is not one of the allowed values")
    if "category_addition" in s and (msg := _list_of(s["category_addition"], STATEMENT_CATEGORIES)):
        err("category_addition", msg)
    if not _blank(s.get("territorial_scope")) and (msg := _list_of(s["territorial_scope"], EEA_COUNTRY_CODES)):
        err("territorial_scope", msg)

    for field, low in (("content_date", "2000-01-01"), ("application_date", "2020-01-01")):
        if _blank(s.get(field)):
            err(field, "is required")
        elif msg := _date(s[field], low=low):
            err(field, msg)
    for field in ("end_date_account_restriction", "end_date_monetary_restriction", "end_date_service_restriction",
                  "end_date_visibility_restriction"):
        if not _blank(s.get(field)) and (msg := _date(s[field], low=None)):
            err(field, msg)

    if _blank(s.get("decision_facts")):
        err("decision_facts", "is required")
    if _blank(s.get("source_type")):
        err("source_type", "is required")
    elif not _one_of(s["source_type"], SOURCE_TYPES):
        err("source_type", f"'{s['source_type']}' is not one of the allowed values")
    for field, allowed in (("automated_detection", AUTOMATED_DETECTIONS), ("automated_decision", AUTOMATED_DECISIONS)):
        if _blank(s.get(field)):
            err(field, "is required")
        elif not _one_of(s[field], allowed):
            err(field, f"'{s[field]}' is not one of the allowed values")
    puid = s.get("puid")
    if _blank(puid):
        err("puid", "is required")
    elif not isinstance(puid, str) or not PUID.fullmatch(puid):
        err("puid", "may only contain letters, digits, '-' and '_'")

    for field, limit in (("decision_visibility_other", 500), ("decision_monetary_other", 500),
                         ("category_specification_other", 500), ("decision_ground_reference_url", 500),
                         ("illegal_content_legal_ground", 500), ("illegal_content_explanation", 2000),
                         ("incompatible_content_ground", 500), ("incompatible_content_explanation", 2000),
                         ("content_type_other", 500), ("decision_facts", 5000), ("source_identity", 500),
                         ("puid", 500)):
        max_len(field, limit)
    unknown = sorted(set(s) - set(FIELDS))
    if unknown:
        err(unknown[0], f"is not a field of the statement API ({', '.join(unknown)})")
    return errors


def check(statement: dict) -> dict:
    """``statement`` unchanged when valid; otherwise ``StatementInvalid`` naming every refused field."""
    errors = validate(statement)
    if errors:
        raise StatementInvalid(errors)
    return statement


def safe_puid(text: str) -> str:
    """A platform identifier the API accepts: characters outside ``[a-zA-Z0-9-_]`` become ``_``."""
    return re.sub(r"[^a-zA-Z0-9\-_]", "_", text)[:500] or "_"


CONFIDENTIAL_LINE = re.compile(r"confirmed counterfeit|prior takedown", re.IGNORECASE)
INTERNAL_ID = re.compile(r"\b(reference|catalog photo)\s+\S+")
SCORE = re.compile(r"\s*\((?:[a-zA-Z ]*distance \d+|\d+\.\d+)\)")


def public_facts(explanation: list[str]) -> list[str]:
    """The detection's explanation lines a seller may read: no reference or catalog identifiers, no similarity
    scores (they would teach evasion), and nothing about other sellers' listings or the seller's record."""
    lines = []
    for line in explanation:
        if CONFIDENTIAL_LINE.search(line):
            continue
        line = SCORE.sub("", INTERNAL_ID.sub(r"\1", line)).strip()
        if line and line not in lines:
            lines.append(line)
    return lines
