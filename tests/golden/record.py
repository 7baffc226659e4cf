"""Records the fingerprints of tests/golden/runs.py: ``python -m tests.golden.record``.

Only for an intended change of outputs (say why in the commit message).
"""

from __future__ import annotations

import json

from .runs import GOLDEN, compute

if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
