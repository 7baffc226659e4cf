"""Comparing recorded and computed golden fingerprints: strictly or tolerantly.

Strict (same machine signature, see ``machine.py``): every value equal, so a
one-ulp change anywhere fails. This is the mode that proves a refactor changes
no output bit, and the one used wherever a recording for this machine exists.

Tolerant (no recording for this machine's float libraries): everything that
does not depend on float rounding is still compared exactly: row counts,
column kinds, the SHA-256 of every datetime, integer, bool and string column,
integer diagnostics, the set of keys, and every string that is not a float's
repr. Float columns' SHA-256 are skipped (they differ in the last bits between
machines) and their sums, and the float reprs that ``value_print`` writes for
levels and diagnostics, must agree to ``math.isclose(rel_tol=REL_TOL,
abs_tol=ABS_TOL)``.

Why these tolerances: between numpy's AVX-512 and AVX2 loops the golden
outputs differ by at most 2.6e-14 relative (169 values, measured at 3216f2b),
so REL_TOL = 1e-9 leaves five orders of magnitude for other libms while still
catching any change a person would make on purpose (a changed formula,
constant or rounding moves values by far more than 1e-9). Relative tolerance
means nothing for a value that should be zero but is a cancellation residue
(a net GEX sum of terms of size 1e8 whose last bits differ lands anywhere
within ~1e-7 of zero), so values within ABS_TOL = 1e-6 also agree. Every
float recorded at 3216f2b is at least 3.8 in magnitude, so a change of 1e-6
relative to any of them still exceeds both bounds (``test_golden_mode.py``
checks this for each one). Row counts and non-float columns stay exact, so a
dropped or added row is always caught.
"""

from __future__ import annotations

import math
import re
from typing import Any

REL_TOL = 1e-9
ABS_TOL = 1e-6

# What repr(float) produces: always a '.' or an exponent, or nan/inf.
_FLOAT_REPR = re.compile(r"-?(?:\d+\.\d+(?:e[+-]\d+)?|\d+e[+-]\d+|inf)|nan")


def is_float_repr(v: Any) -> bool:
    return isinstance(v, str) and _FLOAT_REPR.fullmatch(v) is not None


def floats_close(a: float, b: float) -> bool:
    return a == b or (a != a and b != b) or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def diff(a: Any, b: Any, path: str = "", *, tolerant: bool = False) -> list[str]:
    """Where recorded ``a`` and computed ``b`` differ (paths into the JSON)."""
    if isinstance(a, dict) and isinstance(b, dict):
        float_column = tolerant and a.get("kind") == "float" and b.get("kind") == "float" and "sha256" in a
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'recorded' if k in a else 'computed'}")
            elif not (float_column and k == "sha256"):
                out += diff(a[k], b[k], f"{path}/{k}", tolerant=tolerant)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]", tolerant=tolerant)]
    if tolerant and type(a) is float and type(b) is float:
        same = floats_close(a, b)
    elif tolerant and is_float_repr(a) and is_float_repr(b):
        same = floats_close(float(a), float(b))
    else:
        same = a == b or (type(a) is float and type(b) is float and a != a and b != b)
    return [] if same else [f"{path}: recorded {a!r}, computed {b!r}"]
