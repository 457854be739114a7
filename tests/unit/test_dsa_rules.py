"""The Transparency Database's statement rules (compliance.dsa_rules) on hand-made statements."""
import pytest

from anticounterfeit.compliance import dsa_rules

VALID = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "trade mark law",
    "illegal_content_explanation": "counterfeit goods",
    "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "category_specification": ["KEYWORD_TRADEMARK_INFRINGEMENT"],
    "content_type": ["CONTENT_TYPE_PRODUCT"],
    "territorial_scope": ["DE", "FR"],
    "content_date": "2026-11-30",
    "application_date": "2026-12-01",
    "decision_facts": "image matched the brand's catalog photo",
    "source_type": "SOURCE_VOLUNTARY",
    "automated_detection": "Yes",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "listing-42_d7",
}


def fields(statement: dict) -> set[str]:
    return {error.field for error in dsa_rules.validate(statement)}


def test_a_complete_statement_is_accepted():
    assert dsa_rules.validate(VALID) == []
    assert dsa_rules.check(dict(VALID)) == VALID


@pytest.mark.parametrize("change, field", [
    ({"puid": "listing 42/7"}, "puid"),
    ({"application_date": "2026-12-01-10"}, "application_date"),
    ({"application_date": "2019-12-31"}, "application_date"),
    ({"content_date": "2026-02-30"}, "content_date"),
    ({"category": "STATEMENT_CATEGORY_COUNTERFEIT"}, "category"),
    ({"category_specification": ["KEYWORD_FAKE"]}, "category_specification"),
    ({"content_type": ["PRODUCT"]}, "content_type"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
    ({"decision_visibility": None}, "decision_visibility"),
    ({"decision_ground": "ILLEGAL"}, "decision_ground"),
    ({"illegal_content_legal_ground": ""}, "illegal_content_legal_ground"),
    ({"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"}, "incompatible_content_ground"),
    ({"automated_decision": "No"}, "automated_decision"),
    ({"automated_detection": True}, "automated_detection"),
    ({"source_type": "SOURCE_BRAND"}, "source_type"),
    ({"territorial_scope": ["US"]}, "territorial_scope"),
    ({"decision_facts": "x" * 5001}, "decision_facts"),
    ({"decision_ground_reference_url": "not a url"}, "decision_ground_reference_url"),
    ({"seller_name": "Bob"}, "seller_name"),
])
def test_each_rule_refuses_and_names_its_field(change, field):
    assert field in fields({**VALID, **change})
    with pytest.raises(dsa_rules.StatementInvalid, match=field):
        dsa_rules.check({**VALID, **change})


def test_another_restriction_replaces_visibility():
    statement = {**VALID, "decision_visibility": [], "decision_account": "DECISION_ACCOUNT_SUSPENDED"}
    assert dsa_rules.validate(statement) == []


def test_safe_puid_keeps_allowed_characters_only():
    assert dsa_rules.safe_puid("shop/ab c-1_X") == "shop_ab_c-1_X"
    assert dsa_rules.PUID.fullmatch(dsa_rules.safe_puid("ü€"))


def test_public_facts_hide_identifiers_scores_and_other_sellers():
    facts = dsa_rules.public_facts([
        "image matched Acme reference acme-ref-17 (0.93)",
        "image 1 is a near-copy of Acme catalog photo acme-ref-17 (PDQ distance 12)",
        "matches confirmed counterfeit other-listing-9",
        "seller has 2 prior takedown(s)",
        "title says 'acme' (brand mention of acme)",
    ])
    assert facts == ["image matched Acme reference", "image 1 is a near-copy of Acme catalog photo",
                     "title says 'acme' (brand mention of acme)"]
