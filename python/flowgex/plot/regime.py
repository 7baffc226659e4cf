"""The regime-study chart (drawn by :mod:`flowgex.analytics.regime_chart`, next to the
study whose ``plot()`` method uses it; shown here with the other charts)."""

from __future__ import annotations

from ..analytics.regime_chart import plot_regime

__all__ = ["plot_regime"]
