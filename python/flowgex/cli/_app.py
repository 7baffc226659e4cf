"""Group-wide behaviour of the command line: how errors reach the user.

- A user mistake (a flowgex error such as a bad option or bad rows, a missing
  or unreadable file, a malformed input file) prints one line,
  ``Error: <what went wrong>``, and exits with code 2, like click's own usage
  errors.
- Anything else is a bug: one line too, exit code 1, with a hint to rerun
  with ``--debug``.
- ``flowgex --debug <command>`` (or ``FLOWGEX_DEBUG=1``) lets every
  exception through with its traceback.
"""

from __future__ import annotations

import os
from typing import Any

import click
import pyarrow as pa

from ..errors import FlowgexError

__all__ = ["FlowgexGroup", "UserError", "InternalError", "debug_enabled"]

_USER_ERRORS: tuple[type[BaseException], ...] = (FlowgexError, OSError, pa.ArrowInvalid, UnicodeDecodeError)


class UserError(click.ClickException):
    """A mistake in the user's input or options: one line, exit code 2."""

    exit_code = 2


class InternalError(click.ClickException):
    """A bug: one line, exit code 1, and a hint to rerun with --debug."""

    exit_code = 1


def debug_enabled(ctx: click.Context | None) -> bool:
    if os.environ.get("FLOWGEX_DEBUG", "") not in ("", "0"):
        return True
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and root.params.get("debug"))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = text.splitlines()
    more = " (more with --debug)" if len(lines) > 1 else ""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return lines[0].rstrip(":") + more


class FlowgexGroup(click.Group):
    """A click group that turns exceptions into clean one-line errors (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except _USER_ERRORS as exc:
            if debug_enabled(ctx):
                raise
            raise UserError(_one_line(exc)) from exc
        except Exception as exc:
            if debug_enabled(ctx):
                raise
            raise InternalError(
                f"internal error ({type(exc).__name__}: {_one_line(exc)}); rerun with --debug for the traceback"
            ) from exc
