"""Short human formats for numbers in charts, tables, summaries and reports."""

from __future__ import annotations

import math

__all__ = ["compact", "money", "price_text", "value_text"]


def compact(x: float, digits: int = 3) -> str:
    """86k, 96.5k, 1.2M, 3.6k, 230, 2.3: short labels for prices and amounts."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    sign = "\u2212" if x < 0 else ""
    a = abs(x)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}{_digits(a / scale, digits)}{suffix}"
    return f"{sign}{_digits(a, digits)}"


def _digits(v: float, digits: int) -> str:
    """``digits`` significant digits, never in exponent form (500, not 5e+02)."""
    s = f"{v:.{digits}g}"
    return f"{v:.0f}" if "e" in s else s


def money(x: float, digits: int = 3) -> str:
    """$1.2M, −$350k, $0."""
    if x == 0:
        return "$0"
    return ("\u2212" if x < 0 else "") + "$" + compact(abs(x), digits)


def price_text(x: float | None) -> str:
    """98,541 for large prices, 2.314 for small ones, "none" for None."""
    if x is None:
        return "none"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def value_text(x: float, unit: str) -> str:
    """A GEX value as text: money for USD units, a compact number otherwise."""
    return money(x) if unit.startswith("usd") else compact(x)
