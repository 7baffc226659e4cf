"""Durations as users write them: "1d" (pandas deprecates the lower-case day unit), "2 d",
"10min"; anything else is an OptionError, never a pandas warning or error."""

from __future__ import annotations

import warnings

import pytest

import flowgex as fg
from flowgex.options import duration_ns

DAY = 86_400 * 10**9


@pytest.mark.parametrize(("text", "ns"), [("1d", DAY), ("2 d", 2 * DAY), ("30D", 30 * DAY), ("10min", 600 * 10**9)])
def test_day_units_in_either_case_read_without_warnings(text: str, ns: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert duration_ns(text, name="lookback") == ns


@pytest.mark.parametrize("bad", ["d", "1dd", "-1d", "0d", "soon", None])
def test_bad_durations_are_option_errors(bad: object) -> None:
    with pytest.raises(fg.errors.OptionError):
        duration_ns(bad, name="lookback")
