"""Every public output of a fixed set of runs equals what the recording in
``tests/golden/golden.json`` holds (see golden/runs.py).

Strict mode, when a recording was made with this machine's float libraries
(same machine signature, golden/machine.py): bit for bit, so a refactor that
changes any output bit fails. Tolerant mode otherwise (another CPU makes numpy
or libm round differently in the last bit): every non-float fingerprint
exactly and every float to 1e-9 relative (golden/compare.py says why). The
mode that ran is printed; neither skips.
"""

from __future__ import annotations

import pytest

from golden.compare import diff
from golden.machine import signature
from golden.runs import compute
from golden.store import choose, load


def test_public_outputs_match_the_recording_for_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    machine = signature()
    recording, strict = choose(load(), machine["signature"])
    mode = "strict (bit for bit)" if strict else "tolerant (no recording for this machine's float libraries)"
    with capsys.disabled():
        print(
            f"\ngolden: {mode}; machine {machine['signature']} {machine['components']}; "
            f"recording {recording['machine']['signature']} ({recording['machine'].get('note', '')})"
        )
    differences = diff(recording["outputs"], compute(), tolerant=not strict)
    assert not differences, f"{mode}: {len(differences)} output(s) changed:\n" + "\n".join(differences[:40])
