"""Sellers (authorized, honest resellers, counterfeiters) and the recipe mix of the listings."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import GENUINE_WEIGHTS, SynthConfig
from .models import Brand
from .names import seller_name
from .sellers import seller_features


@dataclass
class Market:
    rows: list[dict] = field(default_factory=list)
    authorized: list[dict] = field(default_factory=list)
    pools: dict[str, list[str]] = field(default_factory=lambda: {"reseller": [], "counterfeiter": []})
    names: dict[str, str] = field(default_factory=dict)


def make_sellers(cfg: SynthConfig, brands: list[Brand]) -> Market:
    """1-3 authorized sellers per brand plus resellers and counterfeiters in shuffled id order."""
    rng = cfg.rng("sellers")
    plan: list[tuple[str, Brand | None]] = []
    for b in brands:
        plan += [("authorized", b)] * rng.choice([1, 1, 2, 2, 3])
    plan += [("reseller", None)] * max(6, cfg.n_listings // 6) + [("counterfeiter", None)] * max(6, cfg.n_listings // 8)
    rng.shuffle(plan)
    m = Market()
    for i, (kind, b) in enumerate(plan, 1):
        sid = f"S{i:05d}"
        name = seller_name(rng, kind, b.name if b else None)
        m.rows.append({"seller_id": sid, "name": name, **seller_features(rng, kind)})
        m.names[sid] = name
        if b is not None:
            b.sellers.append(sid)
            m.authorized.append({"brand_id": b.brand_id, "seller_id": sid})
        else:
            m.pools[kind].append(sid)
    m.authorized.sort(key=lambda r: (r["brand_id"], r["seller_id"]))
    return m


def allocate(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of n over weighted keys, at least one each when n allows."""
    total = sum(weights.values())
    raw = {k: n * w / total for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[: n - sum(out.values())]:
        out[k] += 1
    if n >= len(weights):
        for k in out:
            while out[k] == 0:
                donor = max(out, key=lambda j: out[j])
                out[donor] -= 1
                out[k] += 1
    return out


def plan_recipes(cfg: SynthConfig) -> list[str]:
    """Exact recipe quotas (so small bundles still contain every category), shuffled."""
    n_cf = round(cfg.n_listings * cfg.counterfeit_share)
    quota = {**allocate(cfg.n_listings - n_cf, GENUINE_WEIGHTS), **allocate(n_cf, cfg.counterfeit_weights())}
    recipes = [k for k, v in quota.items() for _ in range(v)]
    cfg.rng("plan").shuffle(recipes)
    return recipes
