"""Evidence highlighting on the case page: brand mentions (also disguised) and evasion wording, HTML escaped."""
from anticounterfeit.catalog.models import Brand
from anticounterfeit.moderation.evidence import brand_infos, highlight


def test_highlight_finds_disguised_brand_and_escapes_html():
    brand = Brand(brand_key="nimbus", name="Nimbus", aliases=[], protected_terms=[])  # highlighting reads fields only
    html = highlight("N\u0456mbus <b>hard</b> replica", brand_infos([brand]))  # Cyrillic i
    assert '<mark class="m-brand" title="brand mention">N\u0456mbus</mark>' in html
    assert '<mark class="m-evasion" title="evasion wording">replica</mark>' in html
    assert "&lt;b&gt;hard&lt;/b&gt;" in html
