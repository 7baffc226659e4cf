"""``fg.replay`` state that cannot be trusted is refused, never used.

* An input edited in place (same size, same mtime) after a checkpoint: resuming
  is refused with an error naming the file (the inputs are fingerprinted by
  content); ``overwrite=True`` starts afresh on the new data.
* A damaged checkpoint -- bits flipped anywhere, cut anywhere, padded, random
  bytes, another format version, the old format -- is a ``SnapshotError``; an
  undamaged one resumes to the clean run's output. Resumes run in a child
  process (``checkpoint_worker.py``), so a crash of the interpreter fails the test
  rather than killing pytest; each answer is awaited at most 120 s (a hang fails).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowgex as fg
import flowgex.replaying.run as replay_module
from flowgex.replaying import checkpoint as ckpt
from replay_compare import assert_replay_equals, assert_same_output
from test_replay import deribit_pages

CHUNK = 8


class Crash(BaseException):
    pass


def interrupted(pages, out: Path, at_seq: int) -> None:
    """A replay killed right after the checkpoint of chunk ``at_seq``."""
    real = ckpt.save

    def save(path, cp):
        real(path, cp)
        if cp.seq == at_seq:
            raise Crash

    replay_module.ckpt.save = save
    try:
        with pytest.raises(Crash):
            fg.replay(pages, out=out, chunk_rows=CHUNK, progress=False)
    finally:
        replay_module.ckpt.save = real


# ---- inputs edited in place -----------------------------------------------------------------


def edit_in_place(path: Path) -> None:
    """One digit of one amount changed: same size, and the mtime put back."""
    st_ = path.stat()
    data = bytearray(path.read_bytes())
    at = data.index(b'"amount": ') + len(b'"amount": ')
    data[at] = ord("7") if data[at] != ord("7") else ord("3")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    assert path.stat().st_size == st_.st_size and path.stat().st_mtime_ns == st_.st_mtime_ns


def test_an_input_edited_in_place_is_not_mixed_in(tmp_path):
    pages = deribit_pages(tmp_path)
    interrupted(pages, tmp_path / "out", at_seq=3)
    edit_in_place(pages[0])  # already consumed: resuming would mix old and new rows
    with pytest.raises(fg.OptionError, match=r"other inputs.*page-000\.json changed since the checkpoint"):
        fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, progress=False)
    fresh = fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, overwrite=True, progress=False)
    assert not fresh.resumed
    assert_replay_equals(fresh.out, fg.flow_gex(fg.read_deribit_trades(pages)), inventory=False)


def test_an_unchanged_input_resumes(tmp_path):
    pages = deribit_pages(tmp_path)
    clean = fg.replay(pages, out=tmp_path / "clean", chunk_rows=CHUNK, progress=False)
    interrupted(pages, tmp_path / "out", at_seq=3)
    os.utime(pages[0])  # touched, not changed: content decides
    resumed = fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, progress=False)
    assert resumed.resumed
    assert_same_output(tmp_path / "out", clean.out)


# ---- damaged checkpoints ----------------------------------------------------------------------


class Worker:
    def __init__(self, args: dict) -> None:
        worker = Path(__file__).with_name("checkpoint_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(worker), json.dumps(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def ask(self, out: Path) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{out}\n")
        self.proc.stdin.flush()
        try:
            answer = self.lines.get(timeout=120)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"the resume from {out} hung (no answer in 120 s)")
        if answer is None:
            pytest.fail(f"the child crashed resuming from {out}: exit code {self.proc.wait()}")
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.reader.join(timeout=60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    pages = deribit_pages(root)
    fg.replay(pages, out=root / "clean", chunk_rows=CHUNK, progress=False)
    interrupted(pages, root / "base", at_seq=4)
    blob = (root / "base" / "_replay" / "checkpoint").read_bytes()
    worker = Worker({"pages": [str(p) for p in pages], "chunk_rows": CHUNK, "clean": str(root / "clean")})
    yield root, blob, worker
    worker.close()


def resume_with(setup, data: bytes) -> str:
    root, _, worker = setup
    case = root / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(root / "base", case)
    (case / "_replay" / "checkpoint").write_bytes(data)
    return worker.ask(case)


def test_the_undamaged_checkpoint_resumes_to_the_clean_output(setup):
    assert resume_with(setup, setup[1]) == "identical"


def _version(blob: bytes, v: int) -> bytes:
    return blob[:8] + struct.pack("<H", v) + blob[10:]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b"",
        lambda b: b[:10],
        lambda b: b + b"\0",
        lambda b: _version(b, 1),
        lambda b: _version(b, 3),
        lambda b: b"FGXRPLY1" + b[8:],  # the format-1 magic
        lambda b: b"garbage" * 10,
    ],
    ids=["empty", "cut-header", "padded", "version-1", "version-3", "old-format", "foreign"],
)
def test_named_damage_is_a_snapshot_error(setup, damage):
    assert resume_with(setup, damage(setup[1])) == "SnapshotError"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_is_a_snapshot_error(setup, data):
    blob = setup[1]
    how = data.draw(st.sampled_from(["flip", "cut", "random", "splice"]))
    if how == "flip":
        damaged = bytearray(blob)
        for at, bit in data.draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 7)), min_size=1,
                                          max_size=3)):  # fmt: skip
            damaged[at] ^= 1 << bit
        damaged = bytes(damaged)
    elif how == "cut":
        damaged = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif how == "random":
        damaged = data.draw(st.binary(max_size=2 * len(blob)))
    else:  # a run of random bytes written over the file somewhere
        at = data.draw(st.integers(0, len(blob) - 1))
        patch = data.draw(st.binary(min_size=1, max_size=64))
        damaged = (blob[:at] + patch + blob[at + len(patch) :])[: max(len(blob), at + len(patch))]
    outcome = resume_with(setup, damaged)
    assert outcome in ("identical", "SnapshotError"), outcome
    assert outcome == ("identical" if damaged == blob else "SnapshotError")


def test_a_damaged_finished_replay_is_a_snapshot_error(tmp_path):
    pages = deribit_pages(tmp_path)
    fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, progress=False)
    (tmp_path / "out" / "diagnostics.json").write_text('{"trades": [')
    with pytest.raises(fg.SnapshotError, match="diagnostics"):
        fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, progress=False)
    path = tmp_path / "out" / "_replay" / "checkpoint"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(fg.SnapshotError, match="checksum mismatch.*overwrite=True"):
        fg.replay(pages, out=tmp_path / "out", chunk_rows=CHUNK, progress=False)
