"""Vectorised Black-76 gamma (DESIGN rule 8) over numpy-broadcast inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._kernel_args import broadcast, check_out

__all__ = ["black76_gamma"]


def black76_gamma(
    S: Any,
    K: Any,
    T: Any,
    sigma: Any,
    r: Any = 0.0,
    *,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Γ = e^{−rT} φ(d₁)/(S σ √T), d₁ = (ln(S/K) + σ²T/2)/(σ√T); same for calls and puts.

    All arguments broadcast like numpy operands; the result is an ndarray of
    their broadcast shape. Where T <= 0, sigma <= 0, S <= 0 or K <= 0 (or any
    input is not finite) the gamma is 0.0: never NaN, never negative. For
    Black-Scholes spot gamma with rates r and q, call this with the forward
    F = S·e^{(r−q)T} and multiply by e^{2(r−q)T}.

    ``out``, as in numpy ufuncs: a C-contiguous float64 array of the broadcast
    shape, not overlapping the inputs, that receives the result (and is
    returned). Callers recomputing often reuse one buffer: a fresh result array
    costs a kernel page fault per 4 KiB written, a large share of the kernel's
    time on big inputs.
    """
    shape, flat, (rates,) = broadcast((S, K, T, sigma), [np.asarray(r, dtype=np.float64)])
    if out is None:
        result = _core.black76_gamma(*flat, rates, threads=threads)
        assert result is not None
        return result.reshape(shape)
    check_out("black76_gamma", out, shape, (*flat, rates))
    _core.black76_gamma(*flat, rates, out=out.reshape(-1), threads=threads)
    return out
