"""Instrument names: Deribit inverse and linear forms, any case, 08:00 UTC expiry."""

from __future__ import annotations

import datetime as dt

import pytest

import flowgex as fg

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("name", "asset", "quote", "expiry", "strike", "kind"),
    [
        ("BTC-27DEC24-100000-C", "BTC", None, dt.datetime(2024, 12, 27, 8, tzinfo=UTC), 100000.0, "C"),
        ("XRP_USDC-30JUN23-0d625-C", "XRP", "USDC", dt.datetime(2023, 6, 30, 8, tzinfo=UTC), 0.625, "C"),
        ("xrp_usdc-26sep25-4d6-p", "XRP", "USDC", dt.datetime(2025, 9, 26, 8, tzinfo=UTC), 4.6, "P"),
        ("ETH-5JUN20-250-P", "ETH", None, dt.datetime(2020, 6, 5, 8, tzinfo=UTC), 250.0, "P"),
        ("SOL_USDC-1MAR24-150-C", "SOL", "USDC", dt.datetime(2024, 3, 1, 8, tzinfo=UTC), 150.0, "C"),
        ("BTC-29FEB24-60000-C", "BTC", None, dt.datetime(2024, 2, 29, 8, tzinfo=UTC), 60000.0, "C"),
    ],
)
def test_parse(name, asset, quote, expiry, strike, kind):
    got = fg.parse_instrument(name)
    assert got == fg.Instrument(asset=asset, quote=quote, expiry=expiry, strike=strike, kind=kind)


def test_the_design_example_exactly():
    assert fg.parse_instrument("XRP_USDC-30JUN23-0d625-C") == fg.Instrument(
        asset="XRP", quote="USDC", expiry=dt.datetime(2023, 6, 30, 8, 0, tzinfo=UTC), strike=0.625, kind="C"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "BTC",
        "BTC-PERPETUAL",
        "BTC-27DEC24",
        "BTC-31FEB24-1-C",
        "BTC-27XYZ24-1-C",
        "BTC-27DEC24-0-C",
        "BTC-27DEC24-1-Z",
        "BTC-27DEC24-d5-C",
        "BTC-127DEC24-1-C",
        " BTC-27DEC24-1-C",
    ],
)
def test_unparseable_names_raise_naming_the_string(bad):
    with pytest.raises(fg.InstrumentError) as info:
        fg.parse_instrument(bad)
    assert repr(bad) in str(info.value) or f'"{bad}"' in str(info.value)
    assert isinstance(info.value, ValueError)


def test_canonical_name_round_trips():
    for name in ["BTC-27DEC24-100000-C", "XRP_USDC-30JUN23-0d625-C", "ETH-5JUN20-250-P"]:
        assert fg.parse_instrument(name).name == name
