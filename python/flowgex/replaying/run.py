"""Streaming replay of years of data: inputs merged in time order, fed to an
:class:`~flowgex.Engine` chunk by chunk, results written to a Parquet dataset
as they complete, with a checkpoint after every chunk.

Memory holds the engine (live instruments), one chunk of input (``chunk_rows``
trades, and at most as many chain and spot rows, plus the rows sharing the
chunk's last timestamp), the few input files open at that time, and the
results of the chunk's grid steps; never the whole history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..diagnostics import Diagnostics
from ..engine import Engine
from ..errors import OptionError, SnapshotError
from ..io.exclude import exclude
from ..io.sources import Stream, resolve_streams
from ..options import EngineOptions
from . import checkpoint as ckpt
from .merge import Merger
from .output import MANAGED, clear, load_diagnostics, remove_parts_after, write_final, write_step_tables

__all__ = ["replay", "ReplaySummary"]

KINDS = ("trades", "chain", "spot")
_ENGINE_OPTIONS = (
    "resolution", "unit", "start", "end", "initial", "missing_vol", "missing_spot", "errors", "threads", "r",
    "greeks", "grid_limit", "outlier_gap",
)  # fmt: skip


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did: where its output is, how many chunks and rows, and the diagnostics."""

    out: Path
    chunks: int
    rows: Mapping[str, int]
    diagnostics: Diagnostics
    resumed: bool


def _options(options: Mapping[str, Any], multipliers: Any, inventory: bool) -> dict[str, Any]:
    unknown = sorted(set(options) - set(_ENGINE_OPTIONS))
    if unknown:
        raise OptionError(f"invalid option(s) {unknown} for replay: expected flow_gex options {_ENGINE_OPTIONS}")
    return {**options, "multipliers": multipliers, "keep_inventory": "all" if inventory else "last"}


def _merger_state(m: Merger) -> dict[str, Any]:
    return {"names": [s.name for s in m.streams], "first": m.first, "consumed": m.consumed}


def _resume_merger(streams: list[Stream], state: Mapping[str, Any]) -> Merger:
    by_name = {s.name: s for s in streams}
    return Merger([by_name[n] for n in state["names"]], state["first"], state["consumed"])


def _resume_mergers(
    streams: Mapping[str, list[Stream]], state: ckpt.Checkpoint, path: Path | None
) -> dict[str, Merger]:
    """The mergers where the checkpoint left them; a state that does not fit the inputs is a SnapshotError."""
    try:
        mergers = {k: _resume_merger(streams[k], state.mergers[k]) for k in state.mergers}
        if set(mergers) != {k for k, v in streams.items() if v}:
            raise KeyError(f"inputs {sorted(mergers)}")
        for k, m in mergers.items():
            if sorted(s.name for s in m.streams) != sorted(s.name for s in streams[k]):
                raise KeyError(f"{k} files")
    except KeyError as exc:
        raise SnapshotError(f"{path}: the checkpoint's merge state does not fit the inputs ({exc})") from exc
    return mergers


def _checkpoint_path(checkpoint: Any, out: Path, streams: Mapping[str, list[Stream]]) -> Path | None:
    reopenable = all(s.reopenable for v in streams.values() for s in v)
    if checkpoint is False:
        return None
    if checkpoint is None or checkpoint is True:
        if not reopenable:
            if checkpoint is True:
                raise OptionError("invalid option checkpoint: an in-memory Arrow stream cannot be re-read; use files")
            return None
        return out / "_replay" / "checkpoint"
    if not reopenable:
        raise OptionError("invalid option checkpoint: an in-memory Arrow stream cannot be re-read; use files")
    return Path(checkpoint)


def _rows_or_none(table: pa.Table | None) -> pa.Table | None:
    return table if table is not None and table.num_rows else None


def _progress(enabled: bool, total: int | None, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit=" trades", unit_scale=True, disable=not enabled, desc="replay")


def replay(
    trades: Any,
    *,
    out: str | Path,
    chain: Any = None,
    spot: Any = None,
    chunk_rows: int = 1_000_000,
    checkpoint: str | Path | bool | None = None,
    progress: bool = True,
    inventory: bool = False,
    overwrite: bool = False,
    filters: Any = None,
    multipliers: Mapping[str, float] | None = None,
    block_trades: bool = True,
    combo_legs: bool = True,
    liquidations: bool = True,
    **options: Any,
) -> ReplaySummary:
    """Replays ``trades`` (and optionally ``chain``, ``spot``) through the engine, writing results to ``out``.

    Inputs: a glob or list of Tardis CSV / Deribit JSON files, a Parquet file or
    hive-partitioned dataset directory (``filters`` pushed down), or a table / Arrow
    stream object. Files are merged in time order (see :mod:`flowgex.replaying.merge`);
    each file must be in time order itself, and a row older than a closed bucket is
    ``late``. Results (by_strike, by_expiry, total; inventory when ``inventory=True``)
    go to Parquet partitioned by asset and date; read them with :func:`read_replay`.

    ``checkpoint``: None (default) keeps one in ``out/_replay`` for file inputs; a path
    puts it there; False disables it. A replay that was interrupted resumes from its
    checkpoint when called again with the same inputs and options, and its output is
    identical to an uninterrupted run's. A finished replay returns at once.
    ``overwrite=True`` starts afresh in an ``out`` that holds another replay.
    Other keyword options are :func:`flowgex.flow_gex`'s (``resolution``, ``errors``, ...).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise OptionError(f"invalid option chunk_rows: expected a positive int, found {chunk_rows!r}")
    eng_opts = _options(options, multipliers, inventory)
    parsed = EngineOptions.parse(**{k: v for k, v in eng_opts.items() if k != "initial"})
    out = Path(out)
    reader = {"multipliers": dict(multipliers or {})}
    srcs = {"trades": trades, "chain": chain, "spot": spot}
    streams = {k: resolve_streams(srcs[k], kind=k, options=reader, filters=filters) for k in KINDS}
    if not streams["trades"]:
        raise OptionError("replay: trades are required")
    settings = {
        "engine": {k: v for k, v in parsed.to_json().items() if k != "threads"},
        "flags": [block_trades, combo_legs, liquidations],
        "inventory": inventory,
        "filters": str(filters),
    }
    path = _checkpoint_path(checkpoint, out, streams)
    # Inputs are fingerprinted by content (one read of each file) only when a checkpoint is kept.
    inputs = ckpt.input_digests(streams) if path is not None else {}
    fp = ckpt.fingerprint(inputs, settings, eng_opts.get("initial"))
    state = ckpt.load(path) if path is not None and not overwrite else None
    if state is not None and state.fingerprint != fp:
        why = ckpt.changed_input(state.inputs, inputs) or "the options differ"
        raise OptionError(
            f"{path}: this checkpoint belongs to a replay with other inputs or options ({why}); "
            f"use another out, or overwrite=True to start afresh"
        )
    if state is not None and state.done:
        return ReplaySummary(out, state.chunks, state.rows, load_diagnostics(out), resumed=True)
    if state is None:
        if overwrite:
            clear(out)
            if path is not None:
                path.unlink(missing_ok=True)
        elif any((out / n).exists() for n in MANAGED):
            raise OptionError(f"{out}: holds another replay's output; pass overwrite=True or use another out")
        eng = Engine(**eng_opts)
        mergers = {k: Merger.start(v) for k, v in streams.items() if v}
        seq, chunks, rows = 0, 0, {k: 0 for k in KINDS}
    else:
        eng = Engine.restore(state.engine, threads=parsed.threads)
        mergers = _resume_mergers(streams, state, path)
        seq, chunks, rows = state.seq, state.chunks, dict(state.rows)
        remove_parts_after(out, seq)
    total = None if any(s.rows is None for s in streams["trades"]) else sum(s.rows or 0 for s in streams["trades"])
    flags = {"block_trades": block_trades, "combo_legs": combo_legs, "liquidations": liquidations}
    with _progress(progress, total, rows["trades"]) as bar:
        while True:
            cuts = [t for m in mergers.values() if (t := m.cut_time(chunk_rows)) is not None]
            bound = min(cuts) if cuts else None
            parts: dict[str, pa.Table | None] = {k: m.take_through(bound) for k, m in mergers.items()}
            if all(p is None for p in parts.values()):
                break
            for k, p in parts.items():
                rows[k] += 0 if p is None else p.num_rows
            trades_part = parts.get("trades")
            if trades_part is not None:
                trades_part, excluded = exclude(trades_part, **flags)
                if excluded:
                    eng.add_excluded(excluded)
            eng.update(*(_rows_or_none(p) for p in (trades_part, parts.get("chain"), parts.get("spot"))))
            seq += 1
            chunks += 1
            part = eng.drain()
            write_step_tables(out, part, seq, inventory=inventory)
            if path is not None:
                merged = {k: _merger_state(m) for k, m in mergers.items()}
                ckpt.save(path, ckpt.Checkpoint(fp, seq, chunks, rows, merged, False, eng.snapshot(), inputs))
            fed = parts.get("trades")
            bar.update(0 if fed is None else fed.num_rows)
    final = eng.finish()
    write_step_tables(out, final, seq + 1, inventory=inventory)
    diagnostics = final.diagnostics
    write_final(out, diagnostics)
    if path is not None:
        merged = {k: _merger_state(m) for k, m in mergers.items()}
        ckpt.save(path, ckpt.Checkpoint(fp, seq + 1, chunks, rows, merged, True, b"", inputs))
    return ReplaySummary(out, chunks, rows, diagnostics, resumed=state is not None)
