"""Vectorised Black-76 gamma (DESIGN rule 8) over numpy-broadcast inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core

__all__ = ["black76_gamma"]


def black76_gamma(S: Any, K: Any, T: Any, sigma: Any, r: Any = 0.0, *, threads: int | None = None) -> np.ndarray:
    """Γ = e^{−rT} φ(d₁)/(S σ √T), d₁ = (ln(S/K) + σ²T/2)/(σ√T); same for calls and puts.

    All arguments broadcast like numpy operands; the result is an ndarray of
    their broadcast shape. Where T <= 0, sigma <= 0, S <= 0 or K <= 0 (or any
    input is not finite) the gamma is 0.0: never NaN, never negative. For
    Black-Scholes spot gamma with rates r and q, call this with the forward
    F = S·e^{(r−q)T} and multiply by e^{2(r−q)T}.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (S, K, T, sigma)]
    rate = np.asarray(r, dtype=np.float64)
    shape = np.broadcast_shapes(*(a.shape for a in arrays), rate.shape)
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    rates = rate.reshape(1) if rate.ndim == 0 else np.ascontiguousarray(np.broadcast_to(rate, shape)).reshape(-1)
    return _core.black76_gamma(*flat, rates, threads=threads).reshape(shape)
