"""A short signature of the floating-point libraries this machine uses.

The golden outputs are exact only for one set of math libraries: numpy picks
its ``exp``/``log``/``power`` loops by CPU (AVX-512 and AVX2 builds round some
inputs differently in the last bit), glibc's libm has CPU-dependent variants,
and the Rust gamma kernel has an AVX-512 path. The simulated markets the golden
runs start from go through all of them, so two machines can disagree in the
last bits of every float output while the code is the same.

The signature hashes the results of exactly those functions on fixed inputs:
equal signatures mean the golden outputs can be compared bit for bit; unequal
ones mean only a tolerant comparison is meaningful (see ``compare.py``). Each
component is kept beside the combined signature so a mismatch says which
library differs.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

import flowgex as fg

#: Recorded in place of a signature for a recording made on an unknown machine.
UNKNOWN = "unknown"


def _h(*parts: bytes) -> str:
    d = hashlib.sha256()
    for p in parts:
        d.update(len(p).to_bytes(8, "little"))
        d.update(p)
    return d.hexdigest()[:16]


def _grid(lo: float, hi: float, n: int) -> np.ndarray:
    """n values from lo to hi built with correctly rounded basic operations only."""
    return lo + (hi - lo) * (np.arange(n, dtype=np.float64) / (n - 1))


def _floats(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64).tobytes()


def _numpy() -> str:
    """numpy's vectorised transcendental loops over the simulator's ranges."""
    x_exp = np.concatenate([_grid(-40.0, 5.0, 3001), _grid(-1e-3, 1e-3, 1001)])  # returns, decay, smile
    x_log = np.concatenate([_grid(0.05, 20.0, 3001), _grid(0.999, 1.001, 1001)])  # moneyness k/f
    x_sqrt = _grid(1e-6, 3.0, 2001)  # year fractions
    x_pow = _grid(0.3, 400.0, 2001)  # (days + 0.3) ** -alpha
    return _h(
        _floats(np.exp(x_exp)),
        _floats(np.expm1(x_exp)),
        _floats(np.log(x_log)),
        _floats(np.log1p(x_log - 1.0)),
        _floats(np.sqrt(x_sqrt)),
        _floats(np.power(x_pow, -0.75)),
        _floats(np.cumsum(_grid(-1e-3, 1e-3, 1441))),
    )


def _libm() -> str:
    """The C library's scalar functions (math.* and numpy's scalar fallbacks)."""
    xs = [i / 97.0 - 6.0 for i in range(1200)]
    vals = [f(x) for x in xs for f in (math.exp, math.erf, math.erfc, math.expm1)]
    vals += [f(abs(x) + 1e-3) for x in xs for f in (math.log, math.log10, math.log1p, math.sqrt)]
    return _h(_floats(np.array(vals)))


def _gamma() -> str:
    """flowgex's gamma kernel (has a CPU-dispatched SIMD path) on fixed inputs."""
    k = _grid(50.0, 150.0, 257)
    s = np.full_like(k, 100.0)
    t = _grid(1e-4, 2.0, 257)
    sig = _grid(0.05, 2.0, 257)
    return _h(_floats(fg.black76_gamma(s, k, t, sig)), _floats(fg.black76_gamma(s, k[::-1], t, sig, r=0.03, threads=1)))


def _simulate() -> str:
    """The float columns of a small simulated market: everything above, composed."""
    m = fg.simulate(days=1, assets=("BTC", "SOL"), seed=11, trades_per_day=200)
    parts = []
    for table in (m.trades, m.chain, m.spot):
        df = table.to_pandas()
        for c in df.columns:
            if df[c].dtype.kind == "f":
                parts.append(c.encode() + _floats(df[c].to_numpy()))
    return _h(*parts)


def signature() -> dict[str, Any]:
    """``{"signature": ..., "components": {...}}`` for this machine."""
    comps = {"numpy": _numpy(), "libm": _libm(), "gamma": _gamma(), "simulate": _simulate()}
    return {"signature": _h(*(f"{k}={v}".encode() for k, v in sorted(comps.items()))), "components": comps}


if __name__ == "__main__":
    print(signature())
