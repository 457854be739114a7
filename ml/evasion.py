"""Evasion vocabulary (replica, 1:1, AAA, dupe, ...), marketing hype and second-hand wording, negation handled."""
from __future__ import annotations

import re

from ml.textnorm import fold

# Phrases sellers of fakes use to say "fake" without saying it; several languages (folded to ASCII).
EVASION = [
    r"replicas?(?! model)", r"1\s*[:to]+\s*1", r"aaa+\s*(?:\+|quality|grade|copy|version|replica)", r"mirror\s+(?:quality|grade|copy|version)",
    r"inspired by", r"dupes?", r"\boem\b", r"same factory", r"high copy", r"super copy", r"copy version",
    r"hard to tell", r"(?:brand|designer)? ?style", r"\bversion\b", r"look\s*-?alike", r"imitation",
    r"unbranded version", r"fake", r"knock\s*-?off", r"replique", r"replik", r"nachbau", r"imitacion", r"copia",
    r"kopie", r"contrefacon", r"gao fang", r"fu ke", r"a huo", r"plain packaging", r"no logo version",
    r"same as (?:the )?original", r"all details correct",
]
HYPE = [
    r"top quality", r"best quality", r"original quality", r"high quality", r"factory direct", r"hot sale",
    r"whatsapp", r"wholesale", r"free gift", r"big discount", r"limited stock", r"aaa grade", r"free shipping",
    r"fast delivery", r"low price", r"stock in warehouse",
]
GENUINE_CLAIMS = [r"authentic", r"genuine", r"receipt", r"proof of purchase", r"authorized", r"official"]
# A used item explains a low price without a fake: resale of genuine goods is legal (first sale).
SECOND_HAND = [r"used", r"pre-?owned", r"second[- ]?hand", r"worn", r"signs of wear", r"refurbished", r"preloved",
               r"gebraucht", r"usado", r"occasion"]
NEGATION = re.compile(r"(?:\bnot\b|\bno\b|\bnever\b|\bn't\b)\W+(?:\w+\W+)?$")

_EV = [re.compile(r"(?<![a-z0-9])" + p + r"(?![a-z0-9])") for p in EVASION]
_HY = [re.compile(r"(?<![a-z0-9])" + p + r"(?![a-z0-9])") for p in HYPE]
_GE = [re.compile(r"(?<![a-z0-9])" + p) for p in GENUINE_CLAIMS]
_SH = [re.compile(r"(?<![a-z0-9])" + p + r"(?![a-z0-9])") for p in SECOND_HAND]


def _hits(patterns: list[re.Pattern], text: str) -> list[str]:
    out = []
    for p in patterns:
        for m in p.finditer(text):
            if NEGATION.search(text[max(0, m.start() - 20):m.start()]):
                continue  # "not a replica", "no dupe"
            out.append(m.group(0).strip())
    return out


def evasion_terms(text: str) -> list[str]:
    return _hits(_EV, fold(text))


def hype_terms(text: str) -> list[str]:
    return _hits(_HY, fold(text))


def genuine_claims(text: str) -> list[str]:
    return _hits(_GE, fold(text))


def second_hand_terms(text: str) -> list[str]:
    return _hits(_SH, fold(text))
