"""Shared fixtures. Real data: the small public files vendored in tests/data
(each with its source in tests/data/PROVENANCE.md), so a fresh clone tests
alone; ``FLOWGEX_SHARED_DATA=/path/to/data`` reads another copy instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FLOWGEX_SHARED_DATA") or ROOT / "tests" / "data")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A long campaign: HYPOTHESIS_PROFILE=soak HYPOTHESIS_EXAMPLES=2000 pytest tests/test_properties.py
settings.register_profile(
    "soak",
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "1000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (tests/data, or $FLOWGEX_SHARED_DATA); its absence is a failure, not a skip."""
    if not (SHARED_DATA / "PROVENANCE.md").is_file():
        pytest.fail(f"real test data not found at {SHARED_DATA} (tests/data, or set FLOWGEX_SHARED_DATA)")
    return SHARED_DATA


VENDORED = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def data_file(shared_data):
    """``data_file("venue_samples/x.jsonl")``: the file in the real-data folder, else the vendored copy
    (files added to tests/data after the shared folder was made exist only there)."""

    def find(rel: str) -> Path:
        for root in (shared_data, VENDORED):
            for p in (root / rel, root / f"{rel}.gz"):
                if p.is_file():
                    return p
        pytest.fail(f"real test data file {rel} not found under {shared_data} or {VENDORED}")

    return find
