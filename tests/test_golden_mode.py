"""The golden test's two modes catch what they must (golden/compare.py).

Tolerant mode, used on machines whose float libraries round differently from
every recording's, must still catch a real change: a float moved by 1e-6
relative, a row added, a non-float column changed. Only strict mode may see a
one-ulp change. Perturbations are applied to the stored recording itself, so
these checks need no engine run; the expected verdicts follow from the
perturbation, not from the code under test.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest

from golden.compare import diff, is_float_repr
from golden.machine import UNKNOWN, signature
from golden.store import choose, load

Path = tuple[Any, ...]


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    return load()[0]["outputs"]


def _floats(o: Any, path: Path = ()) -> Iterator[Path]:
    """Paths of every value tolerant mode compares as a float: float sums and float reprs."""
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _floats(v, (*path, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _floats(v, (*path, i))
    elif type(o) is float or is_float_repr(o):
        yield path


def _get(o: Any, path: Path) -> Any:
    for k in path:
        o = o[k]
    return o


def _set(o: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(o)
    _get(out, path[:-1])[path[-1]] = value
    return out


def _scaled(v: Any, f: float) -> Any:
    x = float(v) * f
    return repr(x) if isinstance(v, str) else x


def _ulp_up(v: Any) -> Any:
    x = math.nextafter(float(v), math.inf)
    return repr(x) if isinstance(v, str) else x


def _where(path: Path) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else f"/{k}" for k in path)


def test_recording_has_float_sums_and_float_reprs(outputs: dict[str, Any]) -> None:
    paths = list(_floats(outputs))
    assert sum(1 for p in paths if p[-1] == "sum") > 100
    assert sum(1 for p in paths if isinstance(_get(outputs, p), str)) > 20
    assert not any(math.isnan(float(_get(outputs, p))) for p in paths)


def test_tolerant_mode_reports_every_float_moved_by_1e_6_relative(outputs: dict[str, Any]) -> None:
    missed = []
    for path in (p for p in _floats(outputs) if math.isfinite(float(_get(outputs, p)))):
        changed = _set(outputs, path, _scaled(_get(outputs, path), 1 + 1e-6))
        if [d.split(":")[0] for d in diff(outputs, changed, tolerant=True)] != [_where(path)]:
            missed.append(_where(path))
    assert not missed, f"tolerant mode missed a 1e-6 relative change of {len(missed)} value(s): {missed[:10]}"


def test_tolerant_mode_reports_a_non_finite_value_that_changes(outputs: dict[str, Any]) -> None:
    """The quarantine run's rejected rows include an infinite price, so a sum is inf."""
    path = next(p for p in _floats(outputs) if _get(outputs, p) == math.inf)
    for value in (1.7976931348623157e308, -math.inf, math.nan):
        assert len(diff(outputs, _set(outputs, path, value), tolerant=True)) == 1, value
    assert diff(outputs, _set(outputs, path, math.inf), tolerant=True) == []
    nan_both = _set(outputs, path, math.nan)
    for tolerant in (False, True):
        assert diff(nan_both, copy.deepcopy(nan_both), tolerant=tolerant) == []


def test_one_ulp_is_reported_only_in_strict_mode(outputs: dict[str, Any]) -> None:
    paths = [p for p in _floats(outputs) if math.isfinite(float(_get(outputs, p)))]
    sums = [p for p in paths if p[-1] == "sum"]
    reprs = [p for p in paths if isinstance(_get(outputs, p), str)]
    for path in (sums[0], sums[len(sums) // 2], reprs[0], reprs[-1]):
        changed = _set(outputs, path, _ulp_up(_get(outputs, path)))
        assert _get(changed, path) != _get(outputs, path)
        assert diff(outputs, changed) == [
            f"{_where(path)}: recorded {_get(outputs, path)!r}, computed {_get(changed, path)!r}"
        ]
        assert diff(outputs, changed, tolerant=True) == []


def _columns(o: Any, path: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    if isinstance(o, dict):
        if "kind" in o and "sha256" in o:
            yield path, o
        else:
            for k, v in o.items():
                yield from _columns(v, (*path, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _columns(v, (*path, i))


def test_a_float_column_sha_is_checked_only_in_strict_mode(outputs: dict[str, Any]) -> None:
    path = next(p for p, c in _columns(outputs) if c["kind"] == "float")
    changed = _set(outputs, (*path, "sha256"), "0" * 32)
    assert len(diff(outputs, changed)) == 1
    assert diff(outputs, changed, tolerant=True) == []


@pytest.mark.parametrize("kind", ["datetime", "int", "other"])
def test_non_float_column_sha_is_checked_in_both_modes(outputs: dict[str, Any], kind: str) -> None:
    path = next(p for p, c in _columns(outputs) if c["kind"] == kind)
    changed = _set(outputs, (*path, "sha256"), "0" * 32)
    for tolerant in (False, True):
        assert [d.split(":")[0] for d in diff(outputs, changed, tolerant=tolerant)] == [_where((*path, "sha256"))]


def test_a_row_count_off_by_one_is_reported_in_both_modes(outputs: dict[str, Any]) -> None:
    path = ("flow", "result", "by_strike", "rows")
    changed = _set(outputs, path, _get(outputs, path) + 1)
    for tolerant in (False, True):
        assert diff(outputs, changed, tolerant=tolerant) == [
            f"/flow/result/by_strike/rows: recorded {_get(outputs, path)}, computed {_get(outputs, path) + 1}"
        ]


def test_integer_diagnostics_strings_and_kinds_are_exact_in_tolerant_mode(outputs: dict[str, Any]) -> None:
    diag = ("flow", "result", "diagnostics", "trades_used")
    regime = ("flow", "BTC", "levels", "regime")
    kind = (*next(p for p, c in _columns(outputs) if c["kind"] == "float"), "kind")
    for path, value in (
        (diag, _get(outputs, diag) - 1),
        (regime, "sticky" if _get(outputs, regime) != "sticky" else "slippery"),
        (kind, "int"),
    ):
        assert len(diff(outputs, _set(outputs, path, value), tolerant=True)) == 1, path


def test_a_missing_key_is_reported_in_tolerant_mode(outputs: dict[str, Any]) -> None:
    changed = copy.deepcopy(outputs)
    del changed["flow"]["BTC"]["levels"]["flip"]
    assert diff(outputs, changed, tolerant=True) == ["/flow/BTC/levels/flip: only in recorded"]


def test_the_recording_is_chosen_by_machine_signature() -> None:
    recs = [{"machine": {"signature": s}, "outputs": {}} for s in ("aaa", UNKNOWN, "bbb")]
    assert choose(recs, "bbb") == (recs[2], True)
    assert choose(recs, "aaa") == (recs[0], True)
    assert choose(recs, "ccc") == (recs[0], False)
    assert choose(recs, UNKNOWN) == (recs[0], False)


def test_stored_recordings_differ_only_in_float_bits() -> None:
    """Every recording holds the same outputs up to float rounding: tolerant
    mode against any of them gives the same verdict, and strict differences
    are only float sums, float reprs and float columns' SHA-256."""
    recs = load()
    first = recs[0]["outputs"]
    floats = set(map(_where, _floats(first))) | {
        _where((*p, "sha256")) for p, c in _columns(first) if c["kind"] == "float"
    }
    for rec in recs[1:]:
        assert rec["machine"]["signature"] != recs[0]["machine"]["signature"]
        assert diff(first, rec["outputs"], tolerant=True) == []
        assert {d.split(":")[0] for d in diff(first, rec["outputs"])} <= floats


def test_machine_signature_is_deterministic() -> None:
    a, b = signature(), signature()
    assert a == b
    assert set(a["components"]) == {"numpy", "libm", "gamma", "simulate"}
    assert len(a["signature"]) == 16 and a["signature"] != UNKNOWN
