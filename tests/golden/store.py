"""golden.json: one recording of the golden outputs per machine type.

The file holds ``{"recordings": [{"machine": {...}, "outputs": {...}}, ...]}``.
``machine`` carries the signature of the float libraries the outputs were
computed with (``machine.py``) and a note saying where and how. The test
compares strictly against the recording whose signature equals this machine's;
if there is none, tolerantly against the first recording (``compare.py``).
The first recording is the one ``record.py`` writes for an intended change of
outputs; the others were added with ``--add-machine`` for other machine types
(their outputs agree with the first in tolerant mode, bits aside).
"""

from __future__ import annotations

import json
from typing import Any

from .machine import UNKNOWN
from .runs import GOLDEN


def load() -> list[dict[str, Any]]:
    recordings = json.loads(GOLDEN.read_text())["recordings"]
    if not recordings:
        raise ValueError(f"{GOLDEN} holds no recording")
    return recordings


def save(recordings: list[dict[str, Any]]) -> None:
    GOLDEN.write_text(json.dumps({"recordings": recordings}, indent=1, sort_keys=True) + "\n")


def choose(recordings: list[dict[str, Any]], signature: str) -> tuple[dict[str, Any], bool]:
    """The recording to compare with and whether the comparison is strict."""
    if signature != UNKNOWN:
        for rec in recordings:
            if rec["machine"]["signature"] == signature:
                return rec, True
    return recordings[0], False
