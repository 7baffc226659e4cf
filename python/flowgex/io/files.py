"""Files: expanding a path, a list or a glob; opening plain or gzip files;
writing atomically.

Every reader goes through here so that the same mistakes (a glob that matches
nothing, an empty file, a cut gzip stream) give the same clear errors naming
the file, and every writer replaces its target in one step (temp file +
``os.replace``), so a killed process never leaves a half-written output.
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import ReadError, SchemaError

__all__ = [
    "PathLike",
    "Source",
    "expand_paths",
    "dataset_files",
    "unique_files",
    "is_glob",
    "check_nonempty",
    "read_bytes",
    "atomic_write",
    "write_atomic_bytes",
    "write_atomic_with",
    "remove_stale_temps",
    "is_gzip",
    "first_line",
    "TMP_MARK",
]

PathLike = str | os.PathLike
Source = PathLike | Sequence[PathLike]
#: Temporary files carry this mark (and a leading dot, so Arrow datasets ignore them).
TMP_MARK = ".tmp-"


def is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def expand_paths(source: Any, *, what: str) -> list[Path]:
    """One path, a list of paths or a glob -> existing files. A glob is sorted by
    name (Tardis and flowgex name files by date, so name order is time order); a
    list keeps the caller's order. A file reached twice (a symlink, a hard link, a
    ``**`` glob through a link to a parent folder, a path listed twice) is kept
    once, at its first place: reading it twice would count its trades twice."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if is_glob(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not found:
                raise ReadError(f"{what}: the pattern {text!r} matches no file")
            return unique_files(found)
        items: Sequence[Any] = [text]
    elif isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        items = source
        if not items:
            raise ReadError(f"{what}: an empty list of files")
    else:
        raise SchemaError(f"{what}: expected a path, a list of paths or a glob, found {type(source).__name__}")
    out: list[Path] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise SchemaError(f"{what}: expected paths in the list, found {type(item).__name__}")
        p = Path(os.fspath(item))
        if not p.is_file():
            raise ReadError(f"{what}: no such file: {p}")
        out.append(p)
    return unique_files(out)


def _key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino)


def unique_files(paths: Sequence[Path]) -> list[Path]:
    """``paths`` without a second path to a file already listed (a symlink, a hard link,
    ``a/../a``): one real file is one input, read once. Order is kept; the first path wins."""
    seen: set[tuple[int, int]] = set()
    out = []
    for p in paths:
        key = _key(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def dataset_files(root: Path) -> list[Path]:
    """Every file under the directory ``root``, each real file once, sorted by path.

    Symbolic links are followed (a dataset may link in days kept elsewhere) but each
    real directory is entered once, so a link to an ancestor cannot loop, and a file
    reached twice (through a link, or a hard link) is listed once: by a path without
    links when there is one. Names starting with ``.`` or ``_`` are skipped, as Arrow
    datasets skip them (temp files, ``_SUCCESS``, ``_metadata``)."""
    visited: set[tuple[int, int]] = set()
    found: list[Path] = []

    def real_first(base: Path, names: list[str]) -> list[str]:
        return sorted((n for n in names if not n.startswith((".", "_"))), key=lambda n: ((base / n).is_symlink(), n))

    def walk(d: Path) -> None:
        try:
            key = _key(d)
            if key in visited:
                return
            visited.add(key)
            entries = list(os.scandir(d))
        except OSError as exc:  # a dangling link, a permission denied
            raise ReadError(f"{root}: cannot list {d} ({exc})") from exc
        dirs = real_first(d, [e.name for e in entries if e.is_dir()])
        files = real_first(d, [e.name for e in entries if not e.is_dir()])
        found.extend(d / n for n in files if (d / n).is_file())
        for n in dirs:
            walk(d / n)

    walk(root)
    return sorted(unique_files(found), key=lambda p: p.as_posix())


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def first_line(path: Path) -> str:
    """The first (decompressed) line, e.g. a CSV header; a cut gzip stream is a ReadError."""
    opener: Any = gzip.open if is_gzip(path) else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
            return str(f.readline())
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(f"{path}: corrupt or truncated file ({exc})") from exc


def check_nonempty(path: Path) -> None:
    """An empty file is a failed download, not 'no trades': say so."""
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: the file is empty (0 bytes); expected a header line or JSON")


def read_bytes(path: Path) -> bytes:
    """The whole (decompressed) content; a truncated or corrupt gzip stream is a ReadError."""
    check_nonempty(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        data = gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ReadError(f"{path}: corrupt or truncated gzip file ({exc})") from exc
    if not data:
        raise ReadError(f"{path}: the file is empty once decompressed")
    return data


def _tmp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{TMP_MARK}{os.getpid()}")


@contextmanager
def atomic_write(target: Path) -> Iterator[IO[bytes]]:
    """Yields a binary file; on success it is flushed, synced and renamed onto
    ``target`` in one step. On failure the temp file is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(target)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic_bytes(target: Path, data: bytes) -> None:
    with atomic_write(target) as f:
        f.write(data)


def write_atomic_with(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    with atomic_write(target) as f:
        write(f)


def remove_stale_temps(root: Path) -> int:
    """Deletes temp files left by a killed writer under ``root``; returns how many."""
    n = 0
    if root.is_dir():
        for p in root.rglob(f".*{TMP_MARK}*"):
            p.unlink(missing_ok=True)
            n += 1
    return n
