"""Hypothesis strategies for hostile input, shared by the API and the importer fuzz tests."""
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
nasty_text = st.sampled_from([
    "", " ", "x" * 70_000, "\x00", "nul\x00inside", "\u202eevil\u202c", "Ｎｉｋｅ", "N\u0131ke", "🙂" * 400,
    "a\u0301" * 100, "<script>alert(1)</script>", "'; DROP TABLE listings_listing; --", "../../etc/passwd",
    "\ud7ff\ue000", "\n\r\t", "%s%n%x", "${jndi:ldap://x}",
]) | st.text(max_size=80)
nasty_price = st.sampled_from([-1, -0.01, 0, 1e308, 10**30, "1e400", "NaN", "Infinity", "-0", "12.345", "abc", None,
                               True, [], {}, 9_999_999.99, 10_000_000.01]) | st.integers() | st.floats()
nasty_value = nasty_text | nasty_price | json_values
