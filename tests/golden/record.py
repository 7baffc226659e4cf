"""Records the fingerprints of tests/golden/runs.py into golden.json.

``python -m tests.golden.record``: for an intended change of outputs (say why
in the commit message). Writes one recording, for this machine; recordings of
other machine types are dropped, as they are stale, and those machines compare
tolerantly until someone adds theirs.

``python -m tests.golden.record --add-machine``: the outputs did not change but
this machine's float libraries round differently from every recording's (the
test ran in tolerant mode). Adds (or replaces) this machine's recording, after
checking that its outputs agree with the first recording in tolerant mode.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from typing import Any

from .compare import diff
from .machine import signature
from .runs import GOLDEN, compute
from .store import load, save


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown commit"
    except OSError:
        return "unknown commit"


def _recording() -> dict[str, Any]:
    machine = signature()
    machine["note"] = f"recorded at {_commit()} on {platform.machine()} {platform.processor() or ''}".rstrip()
    return {"machine": machine, "outputs": compute()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.golden.record", description=__doc__.splitlines()[0])
    ap.add_argument("--add-machine", action="store_true", help="add this machine's recording to the existing ones")
    args = ap.parse_args(argv)
    rec = _recording()
    if not args.add_machine:
        save([rec])
    else:
        recordings = load()
        differences = diff(recordings[0]["outputs"], rec["outputs"], tolerant=True)
        if differences:
            print(
                f"outputs differ from the first recording beyond float rounding ({len(differences)}):", file=sys.stderr
            )
            print("\n".join(differences[:40]), file=sys.stderr)
            return 1
        sig = rec["machine"]["signature"]
        save([r for r in recordings if r["machine"]["signature"] != sig] + [rec])
    print(f"wrote {GOLDEN} (machine signature {rec['machine']['signature']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
