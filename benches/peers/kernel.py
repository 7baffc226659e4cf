"""The gamma kernel alone: ``fg.black76_gamma`` vs numpy's in-place closed form
vs a C loop (gcc -O3 -ffast-math -march=native -fopenmp), on 10M options.

Why: the engine's inner loop is this kernel; the comparison says how close
flowgex gets to what the hardware gives. Inputs are realistic (T from an hour
to a year, σ 20%..150%, strikes within ±4 standard moves of S); every variant's result is
checked against numpy's to 1e-12 relative before its time counts (the C loop
built with -ffast-math is reported with its own error). The C source is
compiled into a temporary directory at run time; nothing is committed.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import flowgex as fg

__all__ = ["inputs", "numpy_gamma", "build_c", "compare", "markdown"]

SOURCE = Path(__file__).with_name("gamma_kernel.c")
REL = 1e-12


def inputs(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.uniform(50.0, 150.0, n)
    t = rng.uniform(1 / 8760, 1.0, n)
    sigma = rng.uniform(0.2, 1.5, n)
    k = s * np.exp(rng.uniform(-4.0, 4.0, n) * sigma * np.sqrt(t))  # within ±4 standard moves
    return s, k, t, sigma


def numpy_gamma(
    s: np.ndarray, k: np.ndarray, t: np.ndarray, sigma: np.ndarray, out: np.ndarray, tmp: np.ndarray
) -> None:
    """Γ = φ(d₁)/(S σ √T) with numpy ufuncs writing into two preallocated buffers (no temporaries)."""
    np.sqrt(t, out=tmp)
    tmp *= sigma  # σ√T
    np.divide(s, k, out=out)
    np.log(out, out=out)
    out /= tmp  # ln(S/K)/(σ√T)
    out *= 2.0  # d₁ = (2·ln(S/K)/(σ√T) + σ√T)/2: scaling by 2 is exact, and needs no temporary
    out += tmp
    out *= 0.5
    out *= out
    out *= -0.5
    np.exp(out, out=out)
    tmp *= s  # S σ √T
    out /= tmp
    out *= 1.0 / math.sqrt(2.0 * math.pi)


def build_c(where: Path) -> Callable[..., None] | None:
    """The C loop as a ctypes function, or None without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    lib = where / "gamma_kernel.so"
    subprocess.run(
        [
            gcc,
            "-O3",
            "-ffast-math",
            "-march=native",
            "-fopenmp",
            "-shared",
            "-fPIC",
            str(SOURCE),
            "-o",
            str(lib),
            "-lm",
        ],
        check=True,
    )
    fn = ctypes.CDLL(str(lib)).gamma_loop
    ptr = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    fn.argtypes = [ptr, ptr, ptr, ptr, ptr, ctypes.c_long, ctypes.c_int]
    fn.restype = None
    return fn


def _best(fn: Callable[..., Any], repeat: int, *args: Any, **kwargs: Any) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times)


def compare(n: int = 10_000_000, repeat: int = 5) -> dict[str, Any]:
    """Best-of-``repeat`` seconds and max relative error vs numpy for every variant."""
    s, k, t, sigma = inputs(n)
    want = np.empty(n)
    tmp = np.empty(n)
    rows: dict[str, Any] = {}
    rows["numpy (in place)"] = {
        "seconds": _best(numpy_gamma, repeat, s, k, t, sigma, want, tmp),
        "rel_err": 0.0,
    }

    def rel(got: np.ndarray) -> float:
        return float(np.max(np.abs(got - want) / np.abs(want)))

    got = np.empty(n)
    for threads in (1, 2):
        # Into a preallocated buffer (out=), as numpy and C write theirs; a fresh
        # result array is measured too (it pays a page fault per 4 KiB written).
        fg.black76_gamma(s, k, t, sigma, out=got, threads=threads)
        err = rel(got)
        assert err <= REL, f"flowgex threads={threads}: max relative error {err:.2e} vs numpy"
        secs = _best(fg.black76_gamma, repeat, s, k, t, sigma, out=got, threads=threads)
        rows[f"flowgex threads={threads}, out="] = {"seconds": secs, "rel_err": err}
        fresh = fg.black76_gamma(s, k, t, sigma, threads=threads)
        secs = _best(fg.black76_gamma, repeat, s, k, t, sigma, threads=threads)
        rows[f"flowgex threads={threads}, new array"] = {"seconds": secs, "rel_err": rel(fresh)}
    with tempfile.TemporaryDirectory(prefix="flowgex-gamma-c-") as tmpdir:
        c = build_c(Path(tmpdir))
        if c is not None:
            out = np.empty(n)
            for threads in (1, 2):
                c(s, k, t, sigma, out, n, threads)
                secs = _best(c, repeat, s, k, t, sigma, out, n, threads)
                rows[f"C -O3 -ffast-math -march=native, {threads} thread(s)"] = {"seconds": secs, "rel_err": rel(out)}
    for r in rows.values():
        r["evals_per_s"] = n / r["seconds"]
    return {"n": n, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows["numpy (in place)"]["seconds"]
    lines = [
        f"\n**Gamma kernel, {result['n']:,} options**\n",
        "| variant | time | evaluations/s | × numpy | max rel. error vs numpy |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['seconds'] * 1e3:.1f} ms | {r['evals_per_s'] / 1e6:.0f} M | "
            f"{base / r['seconds']:.1f}× | {r['rel_err']:.1e} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(compare()))
