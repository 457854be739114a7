"""Titles, descriptions and prices: templates per product kind and per listing recipe."""

from __future__ import annotations

import random

KIND_INFO: dict[str, dict] = {
    "sneaker": {"nouns": ["Runner", "Sneaker", "Trainer", "Court Shoe"], "msrp": (70, 190),
                "generic": "Running Shoes Men Women Breathable Sneakers",
                "features": ["Cushioned midsole for all-day comfort.", "Breathable knit upper.", "Rubber outsole for grip."]},
    "bag": {"nouns": ["Tote", "Shoulder Bag", "Crossbody Bag", "Handbag"], "msrp": (80, 900),
            "generic": "Women Leather Handbag Large Capacity Tote",
            "features": ["Full-grain leather with stitched edges.", "Zip inner pocket.", "Adjustable strap."]},
    "bottle": {"nouns": ["Bottle", "Flask", "Tumbler"], "msrp": (20, 55),
               "generic": "Insulated Water Bottle Stainless Steel 750ml",
               "features": ["Double-wall vacuum insulation.", "Keeps drinks cold for 24 hours.", "Leak-proof cap."]},
    "headphones": {"nouns": ["Headphones", "Wireless Headphones", "Studio Headset"], "msrp": (90, 420),
                   "generic": "Wireless Bluetooth Headphones Over Ear Noise Cancelling",
                   "features": ["Active noise cancelling.", "30-hour battery life.", "Memory-foam ear cushions."]},
    "watch": {"nouns": ["Watch", "Chronograph", "Smart Watch"], "msrp": (120, 1500),
              "generic": "Men's Quartz Wrist Watch Waterproof Stainless",
              "features": ["Sapphire-coated glass.", "Water resistant to 50 m.", "Interchangeable strap."]},
    "tshirt": {"nouns": ["T-Shirt", "Tee", "Logo Tee"], "msrp": (25, 70),
               "generic": "Cotton T-Shirt Short Sleeve Crew Neck Unisex",
               "features": ["100% organic cotton.", "Ribbed crew neck.", "Regular fit."]},
    "cap": {"nouns": ["Cap", "Baseball Cap", "Snapback"], "msrp": (22, 60),
            "generic": "Baseball Cap Adjustable Unisex Sun Hat",
            "features": ["Curved brim.", "Adjustable strap closure.", "Embroidered front."]},
    "phone_case": {"nouns": ["Phone Case", "Case", "Protective Cover"], "msrp": (25, 70),
                   "generic": "Shockproof Phone Case Slim Protective Cover",
                   "features": ["Drop-tested to 2 m.", "Raised camera lip.", "Soft-touch finish."]},
}

CURRENCIES = ("USD",) * 7 + ("EUR", "EUR", "GBP")
GENUINE_PHRASES = ["Genuine product with warranty.", "Ships from our warehouse in 1-2 days.", "Original packaging included.",
                   "30-day returns.", "Authentic, purchased from an official retailer.", "Receipt available on request."]
USED_PHRASES = ["Pre-owned, worn a few times.", "Used, light signs of wear, see photos.", "Second hand, good condition.",
                "Gently used, no box.", "Used condition: scuffs on the side."]
SHADY_PHRASES = ["Good quality and low price.", "Fast delivery 7-15 days.", "Contact on WhatsApp for wholesale.",
                 "Real pictures, best quality.", "Buy 2 get 5% off.", "Ships in plain packaging.", "Free gift with every order."]
SALES_HOOKS = ["Hot Sale", "Top Quality", "Free Shipping", "New Arrival", "2025", "Best Price", "Limited", ""]
GENERIC_WORDS = ["SPORT", "URBAN", "CLASSIC", "PREMIUM", "ACTIVE", "BASIC", "LIFE", "ORIGINAL"]
EVASION = ["Replica", "1:1", "AAA", "Mirror Quality", "Inspired by", "Dupe", "OEM", "Super Copy", "Top Grade Copy",
           "réplica", "copie", "Replik", "replika", "реплика", "高仿", "cópia", "imitazione", "A品"]
COMPAT = {"phone_case": "Case compatible with {b} {l}", "watch": "Replacement strap for {b} {l} watch",
          "headphones": "Ear pads compatible with {b} {l} headphones", "bag": "Organizer insert fits {b} {l} bag",
          "bottle": "Replacement lid for {b} {l} bottle", "sneaker": "Shoe cleaning kit for {b} {l} sneakers",
          "cap": "Cap washer cage for {b} {l} caps", "tshirt": "Gift box for {b} {l} tee"}


def msrp_for(rng: random.Random, kind: str) -> float:
    lo, hi = KIND_INFO[kind]["msrp"]
    return round_price(rng, rng.uniform(lo, hi))


def round_price(rng: random.Random, v: float) -> float:
    v = max(1.0, v)
    r = rng.random()
    if r < 0.5:
        return float(int(v)) + 0.99 if v > 5 else round(v, 2)
    return round(v, 0) if r < 0.8 else round(v, 2)


def product_title(rng: random.Random, brand: str, line: str, kind: str, color: str) -> str:
    noun = rng.choice(KIND_INFO[kind]["nouns"])
    return f"{brand} {line} {noun} - {color}"


def product_description(rng: random.Random, brand: str, line: str, kind: str) -> str:
    feats = rng.sample(KIND_INFO[kind]["features"], 2)
    return f"{brand} {line}. " + " ".join(feats) + f" Designed by {brand}."


def listing_text(rng: random.Random, recipe: str, *, brand: str | None, title: str, kind: str,
                 misspelt: str = "", seller: str = "", ref_desc: str = "") -> tuple[str, str]:
    """Title and description for one listing, by recipe."""
    feats = " ".join(rng.sample(KIND_INFO[kind]["features"], 2))
    hook = rng.choice(SALES_HOOKS)
    if recipe == "g_authorized_catalog":
        return title, f"{ref_desc} Sold by {seller}, an authorized {brand} dealer. {rng.choice(GENUINE_PHRASES)}"
    if recipe == "g_authorized_rephoto":
        return f"{title} | Official", f"{ref_desc} {rng.choice(GENUINE_PHRASES)} Covered by the {brand} warranty."
    if recipe == "g_resale_new":
        return rng.choice([title, f"NEW {title}", f"{title} - Brand New"]), f"Brand new, unopened. {feats} {rng.choice(GENUINE_PHRASES)}"
    if recipe == "g_resale_used":
        return rng.choice([f"{title} (used)", f"Pre-owned {title}", f"{title} - good condition"]), \
            f"{rng.choice(USED_PHRASES)} {feats} Price negotiable."
    if recipe in ("g_unbranded", "cf_text_printed"):
        return f"{hook} {KIND_INFO[kind]['generic']}".strip(), f"{feats} No brand. {rng.choice(SHADY_PHRASES + GENUINE_PHRASES)}"
    if recipe == "g_compatible":
        return title, f"Third-party accessory. Not affiliated with or endorsed by {brand}. {rng.choice(GENUINE_PHRASES)}"
    if recipe == "g_other_brand":
        return title, f"{feats} {rng.choice(GENUINE_PHRASES)}"
    if recipe == "cf_text_misspelled":
        return f"{title.replace(brand or '', misspelt, 1)} {hook}".strip(), f"{feats} {rng.choice(SHADY_PHRASES)}"
    if recipe == "cf_text_evasion":
        term = rng.choice(EVASION)
        t = rng.choice([f"{title} {term}", f"{term} {title}", f"{title} ({term})"])
        return t, f"{term} quality, hard to tell from retail. {rng.choice(SHADY_PHRASES)}"
    if recipe == "cf_text_desc_only":
        return f"{hook} {KIND_INFO[kind]['generic']}".strip(), \
            rng.choice([f"{brand} style, {title} version.", f"Same as {title}.", f"Fits like {brand}. Original quality guaranteed."]) \
            + f" {rng.choice(SHADY_PHRASES)}"
    # reuse / logo recipes: plain brand title, sometimes with shady hooks
    t = rng.choice([title, f"{title} {hook}".strip(), f"{hook} {title}".strip()])
    return t, f"{feats} {rng.choice(SHADY_PHRASES + GENUINE_PHRASES[:2])}"


EVERYDAY_USES = ["Great for {w} lovers.", "A {w} of colour for any outfit.", "Made for {w}s and everyday use.",
                 "Our {w} collection.", "Perfect {w} gift.", "The {w} you need."]


def everyday_use(rng: random.Random, word: str) -> str:
    """A sentence using a word the way ordinary listings do (lower-case, sometimes plural)."""
    return rng.choice(EVERYDAY_USES).format(w=word.lower())


def listing_price(rng: random.Random, recipe: str, msrp: float) -> float:
    """Price as a fraction of the reference MSRP, by recipe (ranges follow the fakebench README)."""
    if recipe.startswith("g_authorized"):
        f = rng.uniform(0.9, 1.05) if rng.random() < 0.8 else rng.uniform(0.7, 0.9)
    elif recipe == "g_resale_new":
        f = rng.uniform(0.8, 1.2) if rng.random() < 0.8 else rng.uniform(0.55, 0.8)
    elif recipe == "g_resale_used":
        f = rng.uniform(0.35, 0.8)
    elif recipe == "g_unbranded":
        f = rng.uniform(0.08, 0.45)
    elif recipe == "g_compatible":
        f = rng.uniform(0.05, 0.3)
    elif recipe == "g_other_brand":
        f = rng.uniform(0.6, 1.1)
    else:
        f = rng.uniform(0.1, 0.45) if rng.random() < 0.86 else rng.uniform(0.62, 1.0)
    return round_price(rng, msrp * f)
