"""Rules 8, 10, 15 and 16: Black-76 gamma and first-order greeks, and the exposures they give.

Plain ``math``, written from DESIGN section 1: no numpy, nothing shared with the fast path.
"""

from __future__ import annotations

import math

__all__ = ["gamma", "first_order", "gex", "first_order_exposures", "EXPOSURE_SCALES"]

#: Rule 16: dex per 1 (delta), vex per vol point (vanna·0.01), cex per day (charm/365).
EXPOSURE_SCALES = {"dex": 1.0, "vex": 0.01, "cex": 1.0 / 365.0}


def gamma(S: float, K: float, T: float, sigma: float, r: float = 0.0) -> float:
    """Rule 8: Black-76 gamma; 0.0 for degenerate inputs."""
    for x in (S, K, T, sigma):
        if not (math.isfinite(x) and x > 0):
            return 0.0
    try:
        d1 = (math.log(S / K) + sigma * sigma * T / 2.0) / (sigma * math.sqrt(T))
        g = math.exp(-r * T) * math.exp(-d1 * d1 / 2.0) / math.sqrt(2.0 * math.pi) / (S * sigma * math.sqrt(T))
    except (OverflowError, ZeroDivisionError, ValueError):
        return 0.0
    return g if math.isfinite(g) and g > 0 else 0.0


def first_order(S: float, K: float, T: float, sigma: float, r: float, is_call: bool) -> tuple[float, float, float]:
    """Rule 15: Black-76 (delta, vanna, charm); (0, 0, 0) for degenerate inputs.

    Δ_C = D·N(d1), Δ_P = D·(N(d1) − 1) = −D·N(−d1) (D = e^{−rT}; N by erfc, accurate in
    both tails); vanna = −D·φ(d1)·d2/σ; charm = −∂Δ/∂T = D·φ(d1)·d2/(2T) + r·Δ, since
    ∂d1/∂T = −d2/(2T) and ∂D/∂T = −r·D.
    """
    for x in (S, K, T, sigma):
        if not (math.isfinite(x) and x > 0):
            return 0.0, 0.0, 0.0
    try:
        vst = sigma * math.sqrt(T)
        d1 = (math.log(S / K) + sigma * sigma * T / 2.0) / vst
        d2 = d1 - vst
        disc = math.exp(-r * T)
        pdf = math.exp(-d1 * d1 / 2.0) / math.sqrt(2.0 * math.pi)
        if is_call:
            delta = disc * 0.5 * math.erfc(-d1 / math.sqrt(2.0))
        else:
            delta = -disc * 0.5 * math.erfc(d1 / math.sqrt(2.0))
        vanna = -disc * pdf * d2 / sigma
        charm = disc * pdf * d2 / (2.0 * T) + r * delta
    except (OverflowError, ZeroDivisionError, ValueError):
        return 0.0, 0.0, 0.0
    out = tuple(v if math.isfinite(v) else 0.0 for v in (delta, vanna, charm))
    return out[0], out[1], out[2]


def gex(g: float, inventory: float, multiplier: float, S: float, unit: str) -> float:
    """Rule 10: one option's GEX in ``unit`` (Γ·I·m·S²·1%, Γ·I·m·S or Γ·I·m)."""
    if unit == "usd_per_1pct":
        return g * inventory * multiplier * S**2 * 0.01
    if unit == "usd_per_point":
        return g * inventory * multiplier * S
    return g * inventory * multiplier


def first_order_exposures(
    S: float,
    K: float,
    T: float,
    sigma: float,
    r: float,
    is_call: bool,
    inventory: float,
    multiplier: float,
    unit: str,
    exposures: tuple[str, ...],
) -> dict[str, float]:
    """Rule 16: the asked exposures (dex, vex, cex) of one option, in USD unless ``unit="underlying"``."""
    dl, va, chm = first_order(S, K, T, sigma, r, is_call)
    greek = {"dex": dl, "vex": va, "cex": chm}
    per_unit = {k: greek[k] * inventory * multiplier * EXPOSURE_SCALES[k] for k in exposures}
    return {k: v if unit == "underlying" else v * S for k, v in per_unit.items()}
