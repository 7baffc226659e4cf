"""Vectorised Black-76 delta, vanna and charm (DESIGN rule 15) over numpy-broadcast inputs.

Conventions as for :func:`flowgex.black76_gamma`: S is the forward (Deribit's
``underlying_price``), T in years of 365 days, σ a decimal, r the discount rate
(0 by default). With d₁ = (ln(S/K) + σ²T/2)/(σ√T), d₂ = d₁ − σ√T, D = e^{−rT}:

- delta: Δ_C = D·N(d₁), Δ_P = D·(N(d₁) − 1);
- vanna = ∂Δ/∂σ = −D·φ(d₁)·d₂/σ (calls and puts alike);
- charm = −∂Δ/∂T = D·φ(d₁)·d₂/(2T) + r·Δ, per year of calendar time (divide by
  365 for a day). Derivation: ∂d₁/∂T = −d₂/(2T) and ∂D/∂T = −r·D, so
  ∂Δ_C/∂T = −r·D·N(d₁) − D·φ(d₁)·d₂/(2T) and the same with N(d₁) − 1 for a put.
  For r = 0 charm is φ(d₁)·d₂/(2T) for calls and puts.

``kind`` says call or put: "C"/"P" (also "call"/"put", any case), an array of
those, or a boolean array meaning *is call*; it broadcasts with the other inputs.
Integer arrays are refused (whether 1 means call would be a guess).

Degenerate inputs (T, σ, S or K ≤ 0, any input or r not finite, σ√T not a normal
double) give 0.0, as for gamma; so does a value that would overflow. Never NaN or
infinite. N(x) is accurate in both tails (a deep out-of-the-money delta keeps its
relative accuracy), see ``rust/core/src/greeks/first_order.rs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _core
from ._kernel_args import broadcast, check_out, is_call
from .errors import OptionError, SchemaError

__all__ = ["GREEKS", "black76_charm", "black76_delta", "black76_greeks", "black76_vanna"]

#: Every greek :func:`black76_greeks` computes, in its order.
GREEKS = ("gamma", "delta", "vanna", "charm")


def black76_greeks(
    S: Any,
    K: Any,
    T: Any,
    sigma: Any,
    kind: Any,
    *,
    r: Any = 0.0,
    greeks: Sequence[str] = GREEKS,
    out: Mapping[str, np.ndarray] | None = None,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Several Black-76 greeks in one pass over the options, sharing d₁: {name: ndarray}.

    ``greeks``: any of "gamma", "delta", "vanna", "charm" (gamma is exactly
    :func:`black76_gamma`; ``kind`` matters only to delta and charm). ``out``: a
    mapping from each asked-for name to a buffer, as ``out`` of
    :func:`black76_gamma` (C-contiguous float64 of the broadcast shape, apart from
    the inputs and from each other); those buffers are filled and returned. A
    caller recomputing often reuses them: fresh arrays cost a page fault per 4 KiB.
    """
    names = _names(greeks)
    calls = is_call(kind, "black76_greeks")
    shape, flat, (rates, calls) = broadcast((S, K, T, sigma), [np.asarray(r, dtype=np.float64), calls])
    if out is None:
        result = {g: np.empty(shape) for g in names}
    else:
        if not isinstance(out, Mapping) or set(out) != set(names):
            raise OptionError(f"black76_greeks: out must map exactly {list(names)} to arrays")
        result = {g: check_out(f"black76_greeks ({g})", out[g], shape, (*flat, rates)) for g in names}
        buffers = list(result.values())
        for i, a in enumerate(buffers):
            if any(np.may_share_memory(a, b) for b in buffers[i + 1 :]):
                raise OptionError("black76_greeks: out buffers must not overlap each other")
    flat_out = {g: a.reshape(-1) for g, a in result.items()}
    _core.black76_greeks(*flat, rates, calls, threads=threads, **flat_out)
    return result


def black76_delta(
    S: Any,
    K: Any,
    T: Any,
    sigma: Any,
    kind: Any,
    *,
    r: Any = 0.0,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Δ_C = e^{−rT} N(d₁), Δ_P = e^{−rT} (N(d₁) − 1); see the module docs for inputs and ``out``."""
    return _one("delta", S, K, T, sigma, kind, r, out, threads)


def black76_vanna(
    S: Any,
    K: Any,
    T: Any,
    sigma: Any,
    *,
    r: Any = 0.0,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Vanna = ∂Δ/∂σ = −e^{−rT} φ(d₁) d₂/σ, the same for calls and puts; see the module docs."""
    return _one("vanna", S, K, T, sigma, "C", r, out, threads)


def black76_charm(
    S: Any,
    K: Any,
    T: Any,
    sigma: Any,
    kind: Any,
    *,
    r: Any = 0.0,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Charm = −∂Δ/∂T per year = e^{−rT} φ(d₁) d₂/(2T) + r·Δ (derivation in the module docs)."""
    return _one("charm", S, K, T, sigma, kind, r, out, threads)


def _one(greek: str, S: Any, K: Any, T: Any, sigma: Any, kind: Any, r: Any, out: Any, threads: int | None) -> np.ndarray:
    """One greek through :func:`black76_greeks`, with ``out`` checked under the kernel's own name."""
    name = f"black76_{greek}"
    calls = is_call(kind, name)
    shape, flat, (rates, calls) = broadcast((S, K, T, sigma), [np.asarray(r, dtype=np.float64), calls])
    target = np.empty(shape) if out is None else check_out(name, out, shape, (*flat, rates))
    _core.black76_greeks(*flat, rates, calls, threads=threads, **{greek: target.reshape(-1)})
    return target


def _names(greeks: Sequence[str]) -> tuple[str, ...]:
    if isinstance(greeks, str) or not all(isinstance(g, str) for g in greeks):
        raise SchemaError(f"black76_greeks: greeks must be a sequence of names from {GREEKS}")
    unknown = [g for g in greeks if g not in GREEKS]
    if unknown or not greeks or len(set(greeks)) != len(greeks):
        raise OptionError(f"black76_greeks: greeks must be distinct names from {GREEKS}, got {list(greeks)}")
    return tuple(greeks)
