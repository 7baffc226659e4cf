"""Readers: venue and vendor files in, canonical tables out (DESIGN section 2)."""

from __future__ import annotations

from .cboe import CboeChain, read_cboe_quotedata

__all__ = ["CboeChain", "read_cboe_quotedata"]
