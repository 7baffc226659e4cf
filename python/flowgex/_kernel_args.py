"""Argument handling shared by the Black-76 kernels (gamma, delta, vanna, charm).

Inputs broadcast like numpy operands and reach Rust as flat, contiguous float64
arrays; a rate (and a call/put flag) that is one value for every row stays one
element long, so the kernel need not read a broadcast copy. ``out`` buffers are
checked here, once, with the same messages for every kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import OptionError, SchemaError


def broadcast(
    values: Sequence[Any], per_row_or_one: Sequence[np.ndarray]
) -> tuple[tuple[int, ...], list[np.ndarray], list[np.ndarray]]:
    """(shape, flat float64 inputs, flat one-or-per-row arrays) of numpy-broadcast operands."""
    arrays = [np.asarray(x, dtype=np.float64) for x in values]
    shape = np.broadcast_shapes(*(a.shape for a in arrays), *(a.shape for a in per_row_or_one))
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    extra = [
        a.reshape(1) if a.ndim == 0 else np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
        for a in per_row_or_one
    ]
    return shape, flat, extra


def check_out(name: str, out: Any, shape: tuple[int, ...], inputs: Sequence[np.ndarray]) -> np.ndarray:
    """``out`` if it can receive a result of ``shape`` without touching ``inputs``, else a flowgex error."""
    if not isinstance(out, np.ndarray) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise SchemaError(f"{name}: out must be a C-contiguous float64 numpy array")
    if out.shape != shape:
        raise OptionError(f"{name}: out has shape {out.shape}, the inputs broadcast to {shape}")
    if not out.flags.writeable:
        raise OptionError(f"{name}: out is read-only")
    if any(np.may_share_memory(out, a) for a in inputs):
        raise OptionError(f"{name}: out must not overlap the inputs")
    return out


_CALL = frozenset({"C", "CALL"})
_PUT = frozenset({"P", "PUT"})


def is_call(kind: Any, name: str) -> np.ndarray:
    """A boolean array (True = call) from ``kind``: "C"/"P" ("call"/"put", any case), an
    array of those, or a boolean array that already says is-call. Integers are refused:
    whether 1 means call is a guess the caller should not leave to us."""
    if isinstance(kind, str):
        upper = kind.strip().upper()
        if upper in _CALL or upper in _PUT:
            return np.asarray(upper in _CALL)
        raise OptionError(f"{name}: kind must be 'C' or 'P' (or 'call'/'put'), got {kind!r}")
    arr = np.asarray(kind)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "USO":
        raise SchemaError(
            f"{name}: kind must be 'C'/'P' strings or a boolean is-call array, got dtype {arr.dtype}"
        )
    if arr.dtype.kind == "O" and not all(isinstance(x, str) for x in arr.reshape(-1)):
        raise SchemaError(f"{name}: kind must be 'C'/'P' strings or a boolean is-call array")
    upper = np.char.upper(np.char.strip(arr.astype(str)))
    calls = (upper == "C") | (upper == "CALL")
    puts = (upper == "P") | (upper == "PUT")
    bad = ~(calls | puts)
    if bad.any():
        shown = sorted({str(x) for x in arr.reshape(-1)[bad.reshape(-1)][:5]})
        raise OptionError(f"{name}: kind must be 'C' or 'P' (or 'call'/'put'); {int(bad.sum())} are not: {shown}")
    return np.asarray(calls)
