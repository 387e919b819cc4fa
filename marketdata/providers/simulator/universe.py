"""The simulated universe: each instrument's contract facts and the parameters of its price process."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marketdata.domain import AssetClass, InstrumentSpec

ANCHOR_DAY = date(2025, 1, 1)
"""Day at which each instrument's anchor path equals its typical price."""


# --- the universe ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimulatedInstrument:
    """An instrument with the parameters of its simulated price process."""

    spec: InstrumentSpec
    price: float  # typical price at ANCHOR_DAY
    volatility: float  # annualised, of log returns
    loadings: tuple[tuple[str, float], ...]  # (factor, loading); sum of squares < 1
    daily_volume: float  # base units over a full session
    avg_trade_size: float | None  # base units; None: no trade counts (OTC forex)
    drift: float  # annual log drift of the anchor path
    jumps_per_year: float
    jump_size: float  # standard deviation of a log jump
    half_life_years: float  # mean reversion of the log price towards the anchor
    spread_low: float  # full spread range: bps of price, or pips for forex
    spread_high: float
    pip: float | None = None  # forex pip size

    @property
    def idiosyncratic_loading(self) -> float:
        return math.sqrt(1.0 - sum(loading**2 for _, loading in self.loadings))


def _spec(
    symbol: str,
    name: str,
    asset_class: AssetClass,
    venue: str,
    *,
    tick: str,
    lot: str,
    minimum: str,
    fractionable: bool,
    shortable: bool,
    quote_currency: str = "USD",
) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        name=f"{name} (simulated)",
        asset_class=asset_class,
        venue=venue,
        quote_currency=quote_currency,
        tick_size=Decimal(tick),
        lot_size=Decimal(lot),
        min_quantity=Decimal(minimum),
        fractionable=fractionable,
        shortable=shortable,
        tradable=True,
        data_source="simulator",
    )


def _equity(
    symbol: str,
    name: str,
    venue: str,
    *,
    price: float,
    volatility: float,
    loadings: dict[str, float],
    daily_volume: float,
    fractionable: bool,
    etf: bool = False,
    drift: float = 0.07,
) -> SimulatedInstrument:
    kind = AssetClass.ETF if etf else AssetClass.STOCK
    return SimulatedInstrument(
        spec=_spec(
            symbol,
            name,
            kind,
            venue,
            tick="0.01",
            lot="1",
            minimum="1",
            fractionable=fractionable,
            shortable=True,
        ),
        price=price,
        volatility=volatility,
        loadings=tuple(loadings.items()),
        daily_volume=daily_volume,
        avg_trade_size=200.0 if etf else 120.0,
        drift=drift,
        jumps_per_year=1.0 if etf else 4.0,
        jump_size=0.02 if etf else 0.045,
        half_life_years=1.0,
        spread_low=1.0,
        spread_high=3.0 if etf else 5.0,
    )


def _crypto(
    base: str,
    name: str,
    *,
    price: float,
    volatility: float,
    crypto_loading: float,
    daily_volume: float,
    tick: str,
    lot: str,
) -> SimulatedInstrument:
    return SimulatedInstrument(
        spec=_spec(
            f"{base}/USD",
            f"{name} / US Dollar",
            AssetClass.CRYPTO,
            "SIM-CRYPTO",
            tick=tick,
            lot=lot,
            minimum=lot,
            fractionable=True,
            shortable=False,
        ),
        price=price,
        volatility=volatility,
        loadings=(("equity", 0.25), ("crypto", crypto_loading)),
        daily_volume=daily_volume,
        avg_trade_size=2500.0 / price,
        drift=0.15,
        jumps_per_year=8.0,
        jump_size=0.06,
        half_life_years=1.0,
        spread_low=5.0,
        spread_high=10.0,
    )


def _forex(
    symbol: str,
    name: str,
    *,
    price: float,
    volatility: float,
    loadings: dict[str, float],
    tick: str,
    pip: float,
) -> SimulatedInstrument:
    return SimulatedInstrument(
        spec=_spec(
            symbol,
            name,
            AssetClass.FOREX,
            "SIM-FX",
            tick=tick,
            lot="1",
            minimum="1000",
            fractionable=False,
            shortable=True,
            quote_currency=symbol.split("/")[1],
        ),
        price=price,
        volatility=volatility,
        loadings=tuple(loadings.items()),
        daily_volume=2.0e9,
        avg_trade_size=None,
        drift=0.0,
        jumps_per_year=2.0,
        jump_size=0.008,
        half_life_years=2.0,
        spread_low=0.5,
        spread_high=2.0,
        pip=pip,
    )


UNIVERSE: tuple[SimulatedInstrument, ...] = (
    _equity("AAPL", "Apple Inc.", "SIM-NASDAQ", price=230, volatility=0.27,
            loadings={"equity": 0.65, "tech": 0.45}, daily_volume=55e6, fractionable=True),
    _equity("MSFT", "Microsoft Corporation", "SIM-NASDAQ", price=420, volatility=0.25,
            loadings={"equity": 0.65, "tech": 0.45}, daily_volume=22e6, fractionable=True),
    _equity("NVDA", "NVIDIA Corporation", "SIM-NASDAQ", price=135, volatility=0.50,
            loadings={"equity": 0.55, "tech": 0.5}, daily_volume=250e6, fractionable=True),
    _equity("GOOGL", "Alphabet Inc. Class A", "SIM-NASDAQ", price=175, volatility=0.30,
            loadings={"equity": 0.6, "tech": 0.4}, daily_volume=25e6, fractionable=True),
    _equity("META", "Meta Platforms, Inc.", "SIM-NASDAQ", price=590, volatility=0.38,
            loadings={"equity": 0.55, "tech": 0.4}, daily_volume=15e6, fractionable=True),
    _equity("AMZN", "Amazon.com, Inc.", "SIM-NASDAQ", price=220, volatility=0.32,
            loadings={"equity": 0.6, "tech": 0.3, "consumer": 0.3}, daily_volume=40e6, fractionable=True),
    _equity("TSLA", "Tesla, Inc.", "SIM-NASDAQ", price=400, volatility=0.60,
            loadings={"equity": 0.45, "consumer": 0.35}, daily_volume=90e6, fractionable=True),
    _equity("JPM", "JPMorgan Chase & Co.", "SIM-NYSE", price=240, volatility=0.24,
            loadings={"equity": 0.6, "financials": 0.5}, daily_volume=9e6, fractionable=False),
    _equity("XOM", "Exxon Mobil Corporation", "SIM-NYSE", price=110, volatility=0.26,
            loadings={"equity": 0.45, "energy": 0.6}, daily_volume=15e6, fractionable=False),
    _equity("JNJ", "Johnson & Johnson", "SIM-NYSE", price=150, volatility=0.17,
            loadings={"equity": 0.4, "health": 0.5}, daily_volume=7e6, fractionable=False),
    _equity("SPY", "SPDR S&P 500 ETF Trust", "SIM-ARCA", price=590, volatility=0.16,
            loadings={"equity": 0.97, "tech": 0.15}, daily_volume=60e6, fractionable=True, etf=True),
    _equity("QQQ", "Invesco QQQ Trust", "SIM-NASDAQ", price=510, volatility=0.21,
            loadings={"equity": 0.85, "tech": 0.45}, daily_volume=35e6, fractionable=True, etf=True,
            drift=0.09),
    _equity("IWM", "iShares Russell 2000 ETF", "SIM-ARCA", price=225, volatility=0.22,
            loadings={"equity": 0.85, "smallcap": 0.45}, daily_volume=25e6, fractionable=False, etf=True,
            drift=0.05),
    _equity("TLT", "iShares 20+ Year Treasury Bond ETF", "SIM-NASDAQ", price=90, volatility=0.15,
            loadings={"equity": -0.2, "rates": 0.9}, daily_volume=20e6, fractionable=False, etf=True,
            drift=-0.01),
    _equity("GLD", "SPDR Gold Shares", "SIM-ARCA", price=240, volatility=0.15,
            loadings={"gold": 0.9, "equity": 0.1, "usd": 0.2}, daily_volume=8e6, fractionable=False, etf=True,
            drift=0.04),
    _crypto("BTC", "Bitcoin", price=95_000, volatility=0.55, crypto_loading=0.85, daily_volume=15_000,
            tick="0.01", lot="0.0001"),
    _crypto("ETH", "Ether", price=3_300, volatility=0.70, crypto_loading=0.82, daily_volume=200_000,
            tick="0.01", lot="0.0001"),
    _crypto("SOL", "Solana", price=190, volatility=0.95, crypto_loading=0.75, daily_volume=2_500_000,
            tick="0.01", lot="0.0001"),
    _crypto("LTC", "Litecoin", price=100, volatility=0.75, crypto_loading=0.75, daily_volume=400_000,
            tick="0.01", lot="0.0001"),
    _crypto("DOGE", "Dogecoin", price=0.32, volatility=1.0, crypto_loading=0.65, daily_volume=1.5e9,
            tick="0.00001", lot="1"),
    _forex("EUR/USD", "Euro / US Dollar", price=1.04, volatility=0.07, loadings={"usd": 0.8},
           tick="0.00001", pip=0.0001),
    _forex("GBP/USD", "British Pound / US Dollar", price=1.25, volatility=0.08, loadings={"usd": 0.7},
           tick="0.00001", pip=0.0001),
    _forex("USD/JPY", "US Dollar / Japanese Yen", price=157, volatility=0.09,
           loadings={"usd": -0.5, "equity": 0.2}, tick="0.001", pip=0.01),
    _forex("AUD/USD", "Australian Dollar / US Dollar", price=0.62, volatility=0.10,
           loadings={"usd": 0.6, "equity": 0.35}, tick="0.00001", pip=0.0001),
)  # fmt: skip
BY_SYMBOL: dict[str, SimulatedInstrument] = {item.spec.symbol: item for item in UNIVERSE}

DAYS_PER_YEAR = {
    AssetClass.STOCK: 252.0,
    AssetClass.ETF: 252.0,
    AssetClass.CRYPTO: 365.0,
    AssetClass.FOREX: 260.0,
}
FULL_SESSION_MINUTES = {
    AssetClass.STOCK: 390,
    AssetClass.ETF: 390,
    AssetClass.CRYPTO: 1440,
    AssetClass.FOREX: 1440,
}


def inverse_tick_of(spec: InstrumentSpec) -> float:
    inverse = 1 / spec.tick_size
    if inverse != inverse.to_integral_value():
        raise ValueError(f"{spec.symbol}: tick size {spec.tick_size} is not 1/integer")
    return float(inverse)


def is_equity(kind: AssetClass) -> bool:
    return kind in (AssetClass.STOCK, AssetClass.ETF)
