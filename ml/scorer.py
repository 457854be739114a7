"""Scorer: a regularised logistic regression over a named feature vector, stored as plain JSON.

Logistic regression is calibrated by construction (it fits log-loss), inspectable (one weight per
named feature) and safe to ship as JSON (no pickle). Interactions that matter (e.g. "image matches
the catalog AND the seller is not authorized") are spelled out in ``expand``.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "weights", "scorer_default.json")


def expand(f: dict[str, float]) -> dict[str, float]:
    """Add generic interaction features (no brand-specific terms)."""
    un = 1.0 - f.get("seller_authorized", 0.0)
    cheap = -min(0.0, f.get("price_vs_msrp", 0.0) if f.get("price_known") else f.get("price_vs_brand", 0.0))
    visual = max(f.get("img_sim", 0.0), f.get("logo_sim", 0.0), f.get("pdq_sim", 0.0))
    named = max(f.get("mention_any", 0.0), f.get("mention_image", 0.0))  # in the text or read in an image (OCR)
    brand_signal = max(named, f.get("mention_protected_only", 0.0) * 0.5, visual)
    comp = f.get("compatible_context", 0.0)
    # Evasion wording + a listing that looks/reads like a catalog item asserts the brand as
    # strongly as naming it ("Replica 1:1 tumbler" with a catalog-like photo).
    claim = max(named,
                min(1.0, f.get("evasion_terms", 0.0)) * max(f.get("img_sim", 0.0), f.get("text_sim", 0.0),
                                                           f.get("mention_protected_only", 0.0)))
    g = dict(f)
    g.update({
        "x_unauth_img": un * f.get("img_sim", 0.0),
        "x_unauth_logo": un * f.get("logo_sim", 0.0),
        "x_unauth_region": un * f.get("region_sim", 0.0),
        "x_unauth_pdq": un * f.get("pdq_match", 0.0),
        "x_unauth_mention": un * f.get("mention_any", 0.0),
        "x_unauth_claim": un * claim,
        "x_claim": claim,
        "x_unauth_text": un * f.get("text_sim", 0.0),
        "x_cheap": cheap,
        "x_cheap_unauth": cheap * un * f.get("brand_found", 0.0),
        "x_evasion_brand": f.get("evasion_terms", 0.0) * brand_signal,
        "x_obfuscated_or_fuzzy": max(f.get("mention_obfuscated", 0.0), f.get("mention_fuzzy", 0.0)),
        "x_compatible_noimg": comp * (1.0 - visual),
        "x_desc_only_unauth": f.get("mention_desc_only", 0.0) * un,
    })
    return g


class Scorer:
    def __init__(self, feature_names: list[str], mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: float, version: str, meta: dict | None = None):
        self.feature_names = list(feature_names)
        self.mean, self.scale = np.asarray(mean, np.float64), np.asarray(scale, np.float64)
        self.coef, self.intercept = np.asarray(coef, np.float64), float(intercept)
        self.version = version
        self.meta = meta or {}

    # ---- inference ------------------------------------------------------------------------
    def matrix(self, features: list[dict[str, float]]) -> np.ndarray:
        rows = [expand(f) for f in features]
        return np.array([[float(r.get(k, 0.0)) for k in self.feature_names] for r in rows], np.float64)

    def predict(self, features: list[dict[str, float]]) -> np.ndarray:
        """Calibrated probability of counterfeit per feature dict."""
        if not features:
            return np.zeros(0)
        z = ((self.matrix(features) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def contributions(self, f: dict[str, float]) -> dict[str, float]:
        """Per-feature log-odds contribution (for explanations and debugging)."""
        x = (self.matrix([f])[0] - self.mean) / self.scale
        return dict(zip(self.feature_names, (x * self.coef).tolist(), strict=True))

    # ---- training / IO -------------------------------------------------------------------
    @classmethod
    def train(cls, features: list[dict[str, float]], labels: list[int], *, C: float = 0.3,
              sample_weight: list[float] | None = None) -> Scorer:
        from sklearn.linear_model import LogisticRegression

        names = sorted(expand(features[0]).keys())
        tmp = cls(names, np.zeros(len(names)), np.ones(len(names)), np.zeros(len(names)), 0.0, "untrained")
        X = tmp.matrix(features)
        mean, scale = X.mean(0), X.std(0)
        scale[scale < 1e-6] = 1.0
        lr = LogisticRegression(C=C, max_iter=5000)
        lr.fit((X - mean) / scale, np.asarray(labels, int), sample_weight=sample_weight)
        import hashlib

        version = "lr-" + hashlib.sha1(np.concatenate([lr.coef_[0], lr.intercept_]).tobytes()).hexdigest()[:10]
        return cls(names, mean, scale, lr.coef_[0], float(lr.intercept_[0]), version,
                   {"n": len(labels), "positives": int(np.sum(labels)), "C": C})

    def to_dict(self) -> dict:
        """The JSON document ``save`` writes (also stored as-is in the database by the Django side)."""
        return {"kind": "logistic", "version": self.version, "feature_names": self.feature_names,
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> Scorer:
        if d.get("kind") != "logistic":
            raise ValueError(f"unknown scorer kind {d.get('kind')!r}")
        return cls(d["feature_names"], d["mean"], d["scale"], d["coef"], d["intercept"], d["version"], d.get("meta"))

    def save(self, path: str) -> None:
        doc = self.to_dict()
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> Scorer:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def load_default(cls) -> Scorer:
        """The shipped default (trained by ``python -m ml.cli.train_default``)."""
        if not os.path.exists(DEFAULT_PATH):
            return cls.untrained()
        return cls.load(DEFAULT_PATH)

    @classmethod
    def untrained(cls) -> Scorer:
        """A neutral scorer (always 0.5): lets feature extraction run before any model exists."""
        return cls([], np.zeros(0), np.ones(0), np.zeros(0), 0.0, "untrained")
