"""``fg.live``: follow Deribit's option market and write flow GEX at every final grid step."""

from __future__ import annotations

import asyncio
import signal
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import OptionError
from ..io.fetch import DEFAULT_BASE_URL
from ..options import duration_ns, to_ns
from .backfill import History
from .channels import check_interval
from .channels import feeds as make_feeds
from .loop import LoopOptions, run_loop
from .page import PAGE_NAME, plotly_available
from .runner import Runner

__all__ = ["live", "LiveSummary", "DEFAULT_WS_URL", "LIVE_DEFAULTS"]

DEFAULT_WS_URL = "wss://www.deribit.com/ws/api/v2"
#: flow_gex options a live run accepts (``start``/``end`` are the clock's business: see ``until``).
_ALLOWED = ("resolution", "unit", "initial", "multipliers", "missing_vol", "missing_spot", "errors", "threads", "r",
            "greeks", "grid_limit")  # fmt: skip
#: Where a live run differs from flow_gex's defaults, and why: one bad row, or one option without
#: a vol yet, must not stop a process that runs for days. Both are counted in the diagnostics.
LIVE_DEFAULTS: Mapping[str, Any] = {"errors": "quarantine", "missing_vol": "skip", "missing_spot": "skip"}


@dataclass(frozen=True)
class LiveSummary:
    """What a live run did: where it wrote, the last final step, and its counts (messages, trades,
    late, duplicates, quarantined, reconnects, history requests...)."""

    out: Path
    final_through: pd.Timestamp | None
    counts: Mapping[str, int]
    resumed: bool


def _options(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(_ALLOWED))
    if unknown:
        raise OptionError(f"invalid option(s) {unknown} for live: expected flow_gex options among {_ALLOWED}")
    return {**LIVE_DEFAULTS, **options}


def _duration(value: Any, name: str) -> int:
    """A duration in ns (``"1d"`` as users write it is accepted by :func:`duration_ns`)."""
    return duration_ns(value, name=name)


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[signal.Signals]:
    """SIGINT and SIGTERM set ``stop`` (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    done: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            done.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - platform without handlers
            pass
    return done


async def _main(runner: Runner, lo: LoopOptions, stop_flag: threading.Event | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    sigs = _install_signals(loop, stop)
    watcher = None
    if stop_flag is not None:  # a caller in another thread may ask to stop
        watcher = loop.create_task(asyncio.to_thread(stop_flag.wait))
        watcher.add_done_callback(lambda _: stop.set())
    try:
        await run_loop(runner, lo, stop)
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)
        if watcher is not None and not watcher.done():
            stop_flag.set()  # type: ignore[union-attr]  # releases the waiting thread


def _run(main: Any) -> None:
    """``asyncio.run``, or in a thread of its own when this thread already runs a loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main)
        return
    box: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box.append(exc)

    th = threading.Thread(target=target, name="flowgex-live")
    th.start()
    th.join()
    if box:
        raise box[0]


def live(
    currencies: Sequence[str] | str,
    out: str | Path,
    *,
    ws_url: str = DEFAULT_WS_URL,
    base_url: str = DEFAULT_BASE_URL,
    backfill: Any = "1d",
    until: Any = None,
    echo: Callable[[str], Any] | None = print,
    interval: str = "100ms",
    heartbeat: int = 10,
    clock_lag: Any = "5s",
    batch_seconds: float = 0.5,
    batch_messages: int = 5000,
    commit_seconds: float = 60.0,
    reconnect_max: float = 30.0,
    max_reconnects: int | None = None,
    history_timeout: float = 30.0,
    stop: threading.Event | None = None,
    html: bool = True,
    html_window: Any = "1D",
    **options: Any,
) -> LiveSummary:
    """Follows Deribit's options live and writes flow GEX at every final grid step (DESIGN rule 19).

    Subscribes over one websocket to ``trades.option.{CURRENCY}.{interval}`` (``100ms``:
    every trade, batched per 100 ms, no account needed; ``raw`` needs an authenticated
    connection, which flowgex does not open),
    ``markprice.options.{index}`` (the chain: mark IV) and ``deribit_price_index.{index}``
    (the spot) for each of ``currencies`` (``"BTC,ETH"``; ``"SOL"``, ``"XRP"``... or ``"USDC"``
    for the linear options), back-fills trades from the history API (``backfill`` before
    the exchange's clock on a first start, from the last trade seen after a restart or a
    reconnect), and feeds an :class:`~flowgex.Engine` in batches. A grid time t is final once
    a message stamped at or after t has arrived (exchange timestamps; heartbeat answers'
    ``usOut`` minus ``clock_lag`` move the clock in a quiet market). At each final step,
    ``out`` gets by_strike / by_expiry / total (the layout of :func:`flowgex.replay`;
    read with :func:`flowgex.read_replay`) and ``levels/`` (:func:`flowgex.live.read_levels`),
    and ``echo`` gets one line per asset. Everything fed is recorded under ``out/recorded``
    (:func:`flowgex.live.read_recorded`): ``flow_gex`` on it with the same options and
    ``end`` = the last final step gives the written steps bit for bit.

    Stops when grid time ``until`` is final, on Ctrl-C / SIGTERM, or when ``stop`` (a
    ``threading.Event``) is set: what is final is written, then a checkpoint; the same
    call again resumes (no gap, no duplicate step). Other keyword options are
    :func:`flowgex.flow_gex`'s; ``errors``, ``missing_vol`` and ``missing_spot`` default to
    ``"quarantine"``, ``"skip"``, ``"skip"`` here (:data:`LIVE_DEFAULTS`).

    With ``html`` (the default), ``out/report.html`` (:func:`flowgex.write_html`) is
    rewritten after each commit that wrote steps, over the last ``html_window`` of final
    steps (``"1D"``: 144 ten-minute steps; older steps leave the page and memory). It
    needs the optional ``plotly``: without it the page is skipped with one warning
    (counted ``html_skipped``). An error writing the page is counted ``html_failed``;
    the run goes on. After a restart the page starts again from the first new step.
    """
    fs = make_feeds(currencies)
    opts = _options(options)
    until_ns = None if until is None else to_ns(until, name="until")
    if not isinstance(ws_url, str) or not ws_url.startswith(("ws://", "wss://")):
        raise OptionError(f"invalid option ws_url: expected a ws:// or wss:// URL, found {ws_url!r}")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise OptionError(f"invalid option base_url: expected an http(s) URL, found {base_url!r}")
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat < 1:
        raise OptionError(f"invalid option heartbeat: expected whole seconds >= 1, found {heartbeat!r}")
    lo = LoopOptions(
        ws_url=ws_url,
        history=History(base_url, timeout=history_timeout, multipliers=opts.get("multipliers")),
        backfill_ns=_duration(backfill, "backfill"),
        until_ns=until_ns,
        heartbeat=heartbeat,
        interval=check_interval(interval),
        clock_lag_ns=0 if clock_lag in (0, None) else _duration(clock_lag, "clock_lag"),
        batch_seconds=float(batch_seconds),
        batch_messages=int(batch_messages),
        reconnect_max=float(reconnect_max),
        max_reconnects=max_reconnects,
    )
    if not isinstance(html, bool):
        raise OptionError(f"invalid option html: expected True or False, found {html!r}")
    window_ns = _duration(html_window, "html_window") if html else None
    ready = True
    if html and not plotly_available():
        ready = False
        warnings.warn(
            f"fg.live: {PAGE_NAME} is not written (it needs plotly: pip install 'flowgex[html]')",
            RuntimeWarning, stacklevel=2,
        )  # fmt: skip
    out = Path(out)
    runner = Runner(
        out, fs, opts, echo=echo, commit_seconds=commit_seconds, until_ns=until_ns, html_window_ns=window_ns,
        html_ready=ready,
    )  # fmt: skip
    if until_ns is not None and until_ns % runner.engine.options.resolution_ns:
        raise OptionError(f"invalid option until: expected a grid time (a multiple of the resolution), found {until!r}")
    if not runner.final(until_ns):
        _run(_main(runner, lo, stop))
    ft = runner.final_through
    return LiveSummary(out, None if ft is None else pd.Timestamp(ft, tz="UTC"), runner.summary_counts, runner.resumed)
