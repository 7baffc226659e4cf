"""Charts people open: the strike chart, the strike × time heatmap and the spot profile.

Each function returns a ``matplotlib.figure.Figure`` (built without pyplot,
on the Agg canvas) and writes a PNG when given ``path=``.
"""

from __future__ import annotations

from .heatmap import plot_heatmap
from .profile import plot_profile
from .regime import plot_regime
from .strikes import plot_strikes

__all__ = ["plot_strikes", "plot_heatmap", "plot_profile", "plot_regime"]
