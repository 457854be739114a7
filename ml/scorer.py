"""Scorer: calibrated probability of counterfeit from a named feature vector, stored as plain JSON.

The model is gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``) exported to JSON (no
pickle) and evaluated here with numpy, then Platt-calibrated on out-of-fold scores. Why trees rather than the
earlier logistic regression over standardised features: a rare binary feature, standardised, got a weight of
many log-odds and alone lifted a listing to 1.00. A tree's leaves hold at least ``min_samples_leaf`` listings,
monotone constraints keep each signal's effect in its sensible direction (``MONOTONE``), and a leaf can only
move the score by what those listings support, so no single weak signal carries a listing.

Two pieces of evidence count whatever the text says (``STRONG_EVIDENCE``): an exact or near copy of a confirmed
counterfeit, and a catalog photo sold at a fraction of the MSRP by a seller the brand has not authorized. The
training data rarely holds them (the counterfeit bank starts empty), so they are floors, not learned weights.

Documents of the older ``"logistic"`` kind stay loadable (scorer versions stored by the Django side).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "weights", "scorer_default.json")

# +1: more of the signal never lowers the score; -1: never raises it. Unlisted signals are unconstrained.
MONOTONE: dict[str, int] = {
    "cf_sim": 1, "cf_pdq_match": 1, "evasion_terms": 1, "hype_terms": 1, "mention_obfuscated": 1,
    "x_obfuscated_or_fuzzy": 1, "seller_takedowns": 1, "seller_authorized": -1, "compatible_context": -1,
    "x_compatible_noimg": -1, "price_vs_msrp": -1, "price_vs_brand": -1, "x_cheap": 1, "x_cheap_unauth": 1,
    "x_unauth_pdq": 1, "x_unauth_img": 1, "x_unauth_logo": 1, "x_unauth_region": 1, "x_unauth_mention": 1,
    "x_unauth_claim": 1, "x_unauth_text": 1, "x_evasion_brand": 1, "x_desc_only_unauth": 1,
    "seller_log_age": -1, "seller_log_sales": -1, "seller_trust": -1,
}
CF_COPY_SIM = 0.95  # cosine to a confirmed counterfeit's image from which it is the same photo
CATALOG_COPY_SIM = 0.95  # cosine to a catalog photo from which it is that photo ...
CATALOG_COPY_PDQ_SIM = 0.9  # ... or this close with a PDQ near-copy (PDQ alone also matches plain, flat photos)
FRACTION_OF_MSRP = -1.74  # log2 price/MSRP: below ~30 % of MSRP (used goods sell at 35-80 %)


@dataclass(frozen=True)
class StrongEvidence:
    name: str
    floor: float  # the score a listing with this evidence gets at least


STRONG_EVIDENCE = (StrongEvidence("copy_of_confirmed_counterfeit", 0.9),
                   StrongEvidence("catalog_photo_at_fraction_of_price_unauthorized", 0.8))


def strong_evidence(f: dict[str, float]) -> list[StrongEvidence]:
    """The ``STRONG_EVIDENCE`` a raw feature dict (``Detector`` signals) shows."""
    out = []
    if f.get("cf_pdq_match", 0.0) >= 1.0 or f.get("cf_sim", 0.0) >= CF_COPY_SIM:
        out.append(STRONG_EVIDENCE[0])
    img = f.get("img_sim", 0.0)
    catalog_copy = img >= CATALOG_COPY_SIM or (f.get("pdq_match", 0.0) >= 1.0 and img >= CATALOG_COPY_PDQ_SIM)
    if (catalog_copy and f.get("price_known", 0.0) and f.get("price_vs_msrp", 0.0) <= FRACTION_OF_MSRP
            and not f.get("seller_authorized", 0.0)):
        out.append(STRONG_EVIDENCE[1])
    return out


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


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


@dataclass
class TreeEnsemble:
    """Boosted regression trees in flat arrays: all trees' nodes concatenated, ``roots`` index each tree's first.

    A row goes left when ``x[feature] <= threshold``; leaves have ``left == -1``. ``value`` holds each node's
    log-odds (leaves: as trained; inner nodes: the count-weighted mean of their children, used to split a
    prediction into per-feature contributions along the path).
    """

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int

    @classmethod
    def from_sklearn(cls, model) -> TreeEnsemble:
        feats, thr, lefts, rights, vals, roots, depth = [], [], [], [], [], [], 0
        for (pred,) in model._predictors:
            nodes, off = pred.nodes, sum(len(v) for v in vals)
            leaf = nodes["is_leaf"].astype(bool)
            value, count = nodes["value"].astype(np.float64), nodes["count"].astype(np.float64)
            for i in np.argsort(-nodes["depth"], kind="stable"):  # children before parents
                if not leaf[i]:
                    a, b = nodes["left"][i], nodes["right"][i]
                    value[i] = (value[a] * count[a] + value[b] * count[b]) / max(count[a] + count[b], 1.0)
            roots.append(off)
            feats.append(np.where(leaf, 0, nodes["feature_idx"]))
            thr.append(np.where(leaf, 0.0, nodes["num_threshold"]))
            lefts.append(np.where(leaf, -1, nodes["left"].astype(np.int64) + off))
            rights.append(np.where(leaf, -1, nodes["right"].astype(np.int64) + off))
            vals.append(value)
            depth = max(depth, int(nodes["depth"].max()))

        def cat(xs: list, dt) -> np.ndarray:
            return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

        return cls(float(np.ravel(model._baseline_prediction)[0]), np.asarray(roots, np.int64),
                   cat(feats, np.int64), cat(thr, np.float64), cat(lefts, np.int64), cat(rights, np.int64),
                   cat(vals, np.float64), depth)

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """(rows, trees) index of the leaf each row reaches in each tree."""
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        rows = np.arange(len(X))[:, None]
        for _ in range(self.depth):
            inner = self.left[node] >= 0
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return node

    def raw(self, X: np.ndarray) -> np.ndarray:
        return self.baseline + self.value[self.leaves(X)].sum(1)

    def path_contributions(self, x: np.ndarray, n_features: int) -> tuple[float, np.ndarray]:
        """(bias, per-feature log-odds) summing to ``raw(x)``: each split's change of node value goes to its feature."""
        out = np.zeros(n_features)
        for root in self.roots.tolist():
            node = root
            while self.left[node] >= 0:
                nxt = self.left[node] if x[self.feature[node]] <= self.threshold[node] else self.right[node]
                out[self.feature[node]] += self.value[nxt] - self.value[node]
                node = nxt
        return self.baseline + float(self.value[self.roots].sum()), out

    def to_dict(self) -> dict:
        return {"baseline": self.baseline, "depth": self.depth, "roots": self.roots.tolist(),
                "feature": self.feature.tolist(), "threshold": self.threshold.tolist(), "left": self.left.tolist(),
                "right": self.right.tolist(), "value": self.value.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> TreeEnsemble:
        return cls(float(d["baseline"]), np.asarray(d["roots"], np.int64), np.asarray(d["feature"], np.int64),
                   np.asarray(d["threshold"], np.float64), np.asarray(d["left"], np.int64),
                   np.asarray(d["right"], np.int64), np.asarray(d["value"], np.float64), int(d["depth"]))


@dataclass(frozen=True)
class TreeParams:
    """Boosting settings; small leaves only where the data is small (moderator decisions at first)."""

    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 8
    max_depth: int = 3
    min_samples_leaf: int = 20
    max_features: float = 0.5  # each split sees half the signals, so the trees spread over many of them
    calibration_folds: int = 3
    random_state: int = 0

    def leaf_size(self, n: int) -> int:
        return max(1, min(self.min_samples_leaf, n // 20))


def _fit_trees(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, names: list[str], l2: float,
               params: TreeParams) -> TreeEnsemble:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=params.max_iter, learning_rate=params.learning_rate, max_leaf_nodes=params.max_leaf_nodes,
        max_depth=params.max_depth, min_samples_leaf=params.leaf_size(len(y)), l2_regularization=l2,
        max_features=params.max_features, monotonic_cst=[MONOTONE.get(k, 0) for k in names],
        early_stopping=False, random_state=params.random_state)
    model.fit(X, y, sample_weight=w)
    return TreeEnsemble.from_sklearn(model)


def _platt(raw: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """Slope and intercept mapping raw log-odds to calibrated log-odds (fitted on out-of-fold raw scores)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(raw.reshape(-1, 1), y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


class Scorer:
    """A trained scorer: ``predict`` gives calibrated probabilities, ``contributions`` explains one listing."""

    def __init__(self, feature_names: list[str], version: str, *, trees: TreeEnsemble | None = None,
                 calibration: tuple[float, float] = (1.0, 0.0), linear: dict | None = None, meta: dict | None = None):
        self.feature_names = list(feature_names)
        self.version = version
        self.trees = trees
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.linear = linear  # legacy logistic documents: {"mean", "scale", "coef", "intercept"} as arrays
        self.meta = meta or {}

    # ---- inference ------------------------------------------------------------------------
    def matrix(self, features: list[dict[str, float]]) -> np.ndarray:
        rows = [expand(f) for f in features]
        return np.array([[float(r.get(k, 0.0)) for k in self.feature_names] for r in rows],
                        np.float64).reshape(len(rows), len(self.feature_names))

    def _model_logit(self, X: np.ndarray) -> np.ndarray:
        if self.trees is not None:
            a, b = self.calibration
            return a * self.trees.raw(X) + b
        if self.linear is not None:
            lin = self.linear
            return ((X - lin["mean"]) / lin["scale"]) @ lin["coef"] + lin["intercept"]
        return np.zeros(len(X))

    def predict(self, features: list[dict[str, float]]) -> np.ndarray:
        """Calibrated probability of counterfeit per feature dict, lifted to any strong evidence's floor."""
        if not features:
            return np.zeros(0)
        p = 1.0 / (1.0 + np.exp(-np.clip(self._model_logit(self.matrix(features)), -40, 40)))
        if self.version == "untrained":
            return p
        floors = np.array([max((e.floor for e in strong_evidence(f)), default=0.0) for f in features])
        return np.maximum(p, floors)

    def contributions(self, f: dict[str, float]) -> dict[str, float]:
        """Per-feature log-odds contribution (for explanations and debugging); strong evidence that lifted the
        score appears under its own name with the log-odds it added."""
        x = self.matrix([f])[0]
        if self.trees is not None:
            a, _ = self.calibration
            _, per = self.trees.path_contributions(x, len(self.feature_names))
            out = dict(zip(self.feature_names, (a * per).tolist(), strict=True))
        elif self.linear is not None:
            lin = self.linear
            out = dict(zip(self.feature_names, (((x - lin["mean"]) / lin["scale"]) * lin["coef"]).tolist(),
                           strict=True))
        else:
            return {}
        model = float(self._model_logit(x[None])[0])
        for e in strong_evidence(f):
            if _logit(e.floor) > model:
                out[e.name] = _logit(e.floor) - model
                model = _logit(e.floor)
        return out

    # ---- training / IO -------------------------------------------------------------------
    @classmethod
    def train(cls, features: list[dict[str, float]], labels: list[int], *, C: float = 0.3,
              sample_weight: list[float] | None = None, params: TreeParams | None = None) -> Scorer:
        """Fit boosted trees (L2 leaf regularisation ``1 / C``, as C in a logistic regression) and calibrate them
        on out-of-fold scores when there are enough labels of each class."""
        from sklearn.model_selection import StratifiedKFold

        params = params or TreeParams()
        names = sorted(expand(features[0]).keys())
        X = cls(names, "untrained").matrix(features)
        y = np.asarray(labels, int)
        w = np.asarray(sample_weight, np.float64) if sample_weight is not None else None
        l2 = 1.0 / C
        trees = _fit_trees(X, y, w, names, l2, params)
        calibration = (1.0, 0.0)
        if min(np.bincount(y, minlength=2)) >= 10 * params.calibration_folds:
            oof = np.zeros(len(y))
            folds = StratifiedKFold(params.calibration_folds, shuffle=True, random_state=params.random_state)
            for tr, te in folds.split(X, y):
                oof[te] = _fit_trees(X[tr], y[tr], None if w is None else w[tr], names, l2, params).raw(X[te])
            calibration = _platt(oof, y, w)
        digest = hashlib.sha1(np.concatenate([trees.value, trees.threshold, calibration]).tobytes()).hexdigest()
        return cls(names, "gbt-" + digest[:10], trees=trees, calibration=calibration,
                   meta={"n": len(labels), "positives": int(np.sum(labels)), "C": C,
                         "params": {k: getattr(params, k) for k in params.__dataclass_fields__}})

    def to_dict(self) -> dict:
        """The JSON document ``save`` writes (also stored as-is in the database by the Django side)."""
        if self.linear is not None:
            lin = self.linear
            return {"kind": "logistic", "version": self.version, "feature_names": self.feature_names,
                    "mean": lin["mean"].tolist(), "scale": lin["scale"].tolist(), "coef": lin["coef"].tolist(),
                    "intercept": lin["intercept"], "meta": self.meta}
        return {"kind": "boosted_trees", "version": self.version, "feature_names": self.feature_names,
                "trees": self.trees.to_dict() if self.trees is not None else None,
                "calibration": list(self.calibration), "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> Scorer:
        if d.get("kind") == "boosted_trees":
            trees = TreeEnsemble.from_dict(d["trees"]) if d.get("trees") else None
            return cls(d["feature_names"], d["version"], trees=trees, calibration=tuple(d["calibration"]),
                       meta=d.get("meta"))
        if d.get("kind") == "logistic":
            linear = {"mean": np.asarray(d["mean"], np.float64), "scale": np.asarray(d["scale"], np.float64),
                      "coef": np.asarray(d["coef"], np.float64), "intercept": float(d["intercept"])}
            return cls(d["feature_names"], d["version"], linear=linear, meta=d.get("meta"))
        raise ValueError(f"unknown scorer kind {d.get('kind')!r}")

    def save(self, path: str) -> None:
        doc = self.to_dict()
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=None, separators=(",", ":"))
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
        return cls([], "untrained")
