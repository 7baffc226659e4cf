"""Deribit API JSON documents: loading files and finding the records in them.

Deribit answers JSON-RPC: ``{"jsonrpc": "2.0", "result": ..., "usIn": ...}``,
or ``{"error": {"code": ..., "message": ...}}``. Users save single responses,
lists of responses, bare lists of records, or one response per line (JSON
lines); all of these are accepted, and each record keeps its position in the
file (the line for JSON lines, else its 1-based position) for error messages.

Websocket captures (a live recorder, Tardis.dev's exchange-native files) are
JSON lines too, one message a line, possibly with the local receive time in
front (``2020-03-01T00:00:00.1234567Z {"jsonrpc": ...}``): the text before a
line's first ``{`` or ``[`` is skipped. Hostile input stays a flowgex error:
JSON nested deeper than Python can recurse is a ReadError, not a
RecursionError.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import ReadError, SchemaError
from ._convert import parse_number

__all__ = ["load_json_file", "loads_text", "records", "column", "float_column", "int_column", "Record"]

#: A record and its position in its file (None for in-memory objects).
Record = tuple[dict[str, Any], int | None]


_PREFIX = re.compile(r"^\s*[0-9][0-9T:.\-+Z ]*\s(?=[\[{])")


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ReadError(f"{where}: JSON nested too deeply to be venue data") from exc


def load_json_file(path: Path, data: bytes) -> list[tuple[Any, int | None]]:
    """The top-level JSON values of a file with the line each starts on (JSON lines) or None."""
    text = data.decode("utf-8", errors="replace")
    try:
        return [(_loads(text, str(path)), None)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data" and not _PREFIX.match(text):
            raise ReadError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    out: list[tuple[Any, int | None]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _PREFIX.match(line)  # a capture's local timestamp in front of the message
        try:
            out.append((_loads(line[m.end() :] if m else line, f"{path}: line {line_no}"), line_no))
        except json.JSONDecodeError as exc:
            raise ReadError(f"{path}: not valid JSON lines (line {line_no}: {exc.msg})") from exc
    return out


def loads_text(text: str | bytes, where: str) -> Any:
    """JSON text given in memory (a response, or JSON lines) as a list of (value, line) pairs."""
    raw = text.encode("utf-8", errors="replace") if isinstance(text, str) else bytes(text)
    return load_json_file(Path(where), raw)


def _error(where: str, err: Any) -> ReadError:
    if isinstance(err, dict):
        return ReadError(f"{where}: a Deribit error response (code {err.get('code')}: {err.get('message')}), not data")
    return ReadError(f"{where}: a Deribit error response ({err!r}), not data")


def _describe(value: dict[str, Any]) -> str:
    """What an object we cannot use looks like, so the message names what was recognised."""
    keys = sorted(value)[:8]
    if isinstance(value.get("trades"), list):
        return f"a trades response (keys {keys}): read it with fg.read_deribit_trades"
    if "instrument_name" in value and ("direction" in value or "trade_id" in value):
        return "a trade record: read it with fg.read_deribit_trades"
    if "instrument_name" in value and any(k in value for k in ("mark_iv", "open_interest", "best_bid_price")):
        return "a ticker / book summary record: read it with fg.read_deribit_tickers"
    if value.get("method") == "subscription":
        return "a websocket notification without a channel: expected params.channel and params.data"
    return f"an object with keys {keys}"


def records(value: Any, *, where: str, is_record: Callable[[dict[str, Any]], bool], key: str | None) -> list[Any]:
    """The records in one JSON value: a response (``result`` or ``result[key]``), a list of
    responses or records, or a record."""
    if isinstance(value, dict):
        if "error" in value and "result" not in value:
            raise _error(where, value["error"])
        if "result" in value:
            return records(value["result"], where=where, is_record=is_record, key=key)
        if key is not None and key in value and isinstance(value[key], list):
            return records(value[key], where=where, is_record=is_record, key=key)
        if is_record(value):
            return [value]
        raise SchemaError(
            f"{where}: expected a Deribit response ({{'result': ...}}) or records, found {_describe(value)}"
        )
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if not isinstance(item, (dict, list)):
                raise SchemaError(f"{where}: expected objects in the list, found {type(item).__name__}")
            out.extend(records(item, where=where, is_record=is_record, key=key))
        return out
    raise SchemaError(f"{where}: expected a JSON object or list, found {type(value).__name__}")


def column(recs: Sequence[Record], name: str) -> list[Any]:
    return [r.get(name) for r, _ in recs]


def float_column(values: Iterable[Any]) -> pa.Array:
    """Numbers; null when absent, NaN when present but not a number (a bad value, counted)."""
    values = list(values)
    try:
        return pa.array(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        out: list[float | None] = []
        for v in values:
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                out.append(None if v is None else float(v))
            elif isinstance(v, str):
                out.append(parse_number(v))
            else:
                out.append(math.nan)
        return pa.array(out, pa.float64())


def int_column(values: Iterable[Any]) -> pa.Array:
    """Integers (e.g. epoch ms); anything else null (a bad timestamp, counted by the engine)."""
    values = list(values)
    try:
        return pa.array(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        out: list[int | None] = []
        for v in values:
            if isinstance(v, bool):
                out.append(None)
            elif isinstance(v, int) and abs(v) < 2**62:
                out.append(v)
            elif isinstance(v, float) and math.isfinite(v) and abs(v) < 2**62:
                out.append(int(v))
            else:
                out.append(None)
        return pa.array(out, pa.int64())


def _text(v: Any) -> str | None:
    if v is None:
        return None
    text = v if isinstance(v, str) else str(v)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): keep the row, visibly escaped
        text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


def string_column(values: Iterable[Any]) -> pa.Array:
    """Text; numbers (trade ids are numbers in some APIs) as their decimal text. A lone
    surrogate is written as its escape (``\\ud800``), so the name fails to parse and the
    engine counts the row, instead of the whole read failing on a UnicodeEncodeError."""
    return pa.array([_text(v) for v in values], pa.string())


def present(values: Iterable[Any]) -> pa.Array:
    """True where a field is present and not empty/false (block_trade_id, combo_id, liquidation)."""
    return pa.array([v is not None and v is not False and v != "" for v in values], pa.bool_())


__all__ += ["string_column", "present"]
