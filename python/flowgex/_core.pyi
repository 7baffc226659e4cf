"""Type stubs for the Rust extension module ``flowgex._core`` (checked by mypy.stubtest)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "CoreEngine",
    "__version__",
    "black76_gamma",
    "black76_greeks",
    "evaluate_point",
    "parse_instrument",
    "profile",
    "profile_steps",
    "reason_names",
    "builtin_multipliers",
]

__version__: str

@final
class CoreEngine:
    def __new__(
        cls,
        *,
        resolution_ns: int,
        unit: str,
        start: int | None,
        end: int | None,
        multipliers: list[tuple[str, float]],
        missing_vol: str | float,
        missing_spot: str,
        rate: float,
        keep: str,
        threads: int | None,
        keep_aggregates: str = "all",
        grid_limit: int | None = None,
        outlier_gap: int | None = ...,
        greeks: list[str] = ...,
    ) -> CoreEngine: ...
    def seed(self, table: dict[str, Any]) -> None: ...
    def update(
        self,
        trades: dict[str, Any] | None = None,
        chain: dict[str, Any] | None = None,
        spot: dict[str, Any] | None = None,
        *,
        strict: bool,
    ) -> dict[str, Any]:
        """Feeds one chunk (the dicts of ``flowgex._encode``). ``trades`` holds its
        columns, or ``chunks``: a list of dicts of columns of consecutive rows (one
        per record batch, viewed in place), each with an optional ``inst_lut``
        (``[-1, update code of each of the batch's own codes]``)."""
    def advance(self, ts: int) -> None: ...
    def open_bucket(self) -> int | None: ...
    def result(self) -> dict[str, Any]: ...
    def finish(self) -> dict[str, Any]: ...
    def drain(self) -> dict[str, Any]: ...
    def buffered_steps(self) -> int: ...
    def registry(self) -> dict[str, Any]: ...
    def snapshot(self) -> bytes: ...
    @staticmethod
    def restore(blob: bytes, *, threads: int | None = None) -> CoreEngine: ...

def reason_names() -> list[str]: ...
def builtin_multipliers() -> list[tuple[str, float]]: ...
def black76_gamma(
    s: npt.NDArray[np.float64],
    k: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
    *,
    out: npt.NDArray[np.float64] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.float64] | None: ...
def black76_greeks(
    s: npt.NDArray[np.float64],
    k: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
    is_call: npt.NDArray[np.bool_],
    *,
    gamma: npt.NDArray[np.float64] | None = None,
    delta: npt.NDArray[np.float64] | None = None,
    vanna: npt.NDArray[np.float64] | None = None,
    charm: npt.NDArray[np.float64] | None = None,
    threads: int | None = None,
) -> None: ...
def parse_instrument(name: str) -> tuple[str, str | None, int, float, str]: ...
def evaluate_point(
    time: int,
    book: dict[str, Any],
    *,
    unit: str,
    rate: float,
    multipliers: list[tuple[str, float]],
    asset_spot: list[tuple[str, float]],
    threads: int | None = None,
    greeks: list[str] = ...,
) -> dict[str, Any]: ...
def profile(
    s: npt.NDArray[np.float64],
    k: npt.NDArray[np.float64],
    tau: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    *,
    spot: float,
    xs: npt.NDArray[np.float64],
    rate: float,
    unit: str,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def profile_steps(
    offsets: npt.NDArray[np.uint64],
    s: npt.NDArray[np.float64],
    k: npt.NDArray[np.float64],
    tau: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    *,
    spot: npt.NDArray[np.float64],
    rel: npt.NDArray[np.float64],
    rate: float,
    unit: str,
    threads: int | None = None,
) -> dict[str, Any]: ...
