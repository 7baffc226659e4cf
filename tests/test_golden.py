"""Every public output of a fixed set of runs equals, bit for bit, what the
commit that recorded ``tests/golden/golden.json`` produced (see golden/runs.py)."""

from __future__ import annotations

import json

from golden.runs import GOLDEN, compute, diff


def test_public_outputs_are_bit_identical_to_the_recorded_ones() -> None:
    recorded = json.loads(GOLDEN.read_text())
    computed = compute()
    differences = diff(recorded, computed)
    assert not differences, f"{len(differences)} output(s) changed:\n" + "\n".join(differences[:40])
