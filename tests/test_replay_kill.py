"""A replay killed with SIGKILL at random points (during imports, mid-chunk,
mid-write, right after a checkpoint) and restarted each time finishes with
exactly the files of an uninterrupted run: no gap, no duplicate part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

import flowgex as fg
from flowgex.replaying import checkpoint as ckpt
from replay_compare import assert_same_output
from test_read_parquet import write_dataset
from venue_files import market

CHUNK = 150
SCRIPT = (
    "import sys, flowgex as fg\n"
    "fg.replay(sys.argv[1], out=sys.argv[2], chunk_rows=int(sys.argv[3]), inventory=True, progress=False,"
    " errors='quarantine')\n"
)


def chunks_done(path) -> int:
    try:
        state = ckpt.load(path)
    except (OSError, fg.SnapshotError):
        return 0
    return 0 if state is None else state.chunks


def run_until(src, out, rng, *, first: bool) -> bool:
    """Starts a replay and kills it at a random point; True if it finished first."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(src), str(out), str(CHUNK)], stderr=subprocess.PIPE)
    path = out / "_replay" / "checkpoint"
    if first:  # anywhere from interpreter start-up to the first chunks
        deadline = time.monotonic() + rng.uniform(0.05, 2.0)
        while time.monotonic() < deadline and proc.poll() is None and chunks_done(path) < 2:
            time.sleep(0.002)
    else:
        target = chunks_done(path) + int(rng.integers(1, 5))
        while proc.poll() is None and chunks_done(path) < target:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.04))  # then somewhere inside the next chunk
    if proc.poll() is not None:
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert proc.returncode == 0, err
        return True
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.stderr.close()
    assert proc.returncode in (0, -signal.SIGKILL), err  # 0: it finished just before the signal
    return proc.returncode == 0


def test_sigkill_at_random_points_then_resume(tmp_path):
    write_dataset(tmp_path / "ds", market(4500, seed=31, minutes=2.0))  # 6+ days, 3 assets: ~30 chunks
    clean = fg.replay(tmp_path / "ds", out=tmp_path / "clean", chunk_rows=CHUNK, inventory=True, progress=False,
                      errors="quarantine")  # fmt: skip
    assert clean.chunks >= 25
    rng = np.random.default_rng(20241201)
    out = tmp_path / "killed"
    kills = 0
    finished = False
    while not finished and kills < 8:
        finished = run_until(tmp_path / "ds", out, rng, first=kills == 0)
        kills += 0 if finished else 1
    if not finished:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "ds"), str(out), str(CHUNK)], check=True)
        assert proc.returncode == 0
    assert kills >= 4
    assert_same_output(out, clean.out)
    again = fg.replay(tmp_path / "ds", out=out, chunk_rows=CHUNK, inventory=True, progress=False, errors="quarantine")
    assert again.resumed and again.diagnostics.as_dict() == clean.diagnostics.as_dict()
    assert not list(out.rglob(".*.tmp-*"))  # no temp file survives
