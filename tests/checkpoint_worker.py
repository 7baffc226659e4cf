"""A child process for ``test_replay_state``: resumes replays from (damaged)
checkpoints and prints one outcome a line, so that a crash of the interpreter
(a segfault in the core) fails the parent's test instead of killing pytest.

argv[1]: JSON {"pages": [...], "chunk_rows": n, "clean": dir}. Each stdin line is
an ``out`` directory holding an interrupted replay; the reply is ``identical``
(the resumed output equals the clean run's, file by file), ``SnapshotError``,
or ``OTHER <type>: <message>`` / ``DIFFERENT <message>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import flowgex as fg  # noqa: E402
from replay_compare import assert_same_output  # noqa: E402


def main() -> None:
    args = json.loads(sys.argv[1])
    for line in sys.stdin:
        out = Path(line.strip())
        try:
            fg.replay(args["pages"], out=out, chunk_rows=args["chunk_rows"], progress=False)
            try:
                assert_same_output(out, Path(args["clean"]))
                outcome = "identical"
            except AssertionError as exc:
                outcome = f"DIFFERENT {str(exc)[:200]!r}"
        except fg.SnapshotError:
            outcome = "SnapshotError"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
            outcome = f"OTHER {type(exc).__name__}: {str(exc)[:200]!r}"
        print(outcome, flush=True)


if __name__ == "__main__":
    main()
