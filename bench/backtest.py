"""Backtest speed: the SMA(10/20) crossover on backtesting.py's daily GOOG bars and on 1,000,000
synthetic one-minute bars, in our event-driven engine, backtesting.py and vectorbt's
``Portfolio.from_signals`` (bars per second, wall time, trades); a 100-combination parameter sweep on
GOOG (ours sequential and on a 2-process pool vs backtesting.py's ``optimize``); the peak memory of our
1M-bar run (a fresh process, VmHWM); a profile of that run (where the time goes); and the
platform path: 200,000 one-minute bars stored in PostgreSQL, a run created and executed through
``backtests.services`` (load, engine, results stored).

The same rules everywhere: long only, all-in market orders decided on a bar's close and filled at the
next bar's open, whole shares, 10,000 cash; GOOG with 0.2 % commission per fill (the configuration
``backtests/tests/test_crosscheck_backtesting_py.py`` proves gives identical trades), the synthetic
bars without commission. Trade counts differ on the synthetic bars where the conventions differ (the
crossover tie rule, pandas' rolling mean vs our exact SMA: docs/strategies.md), so they are printed.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
import warnings
from decimal import Decimal
from typing import Any

from bench.stats import heading, show

SYNTHETIC_BARS = 1_000_000
PLATFORM_BARS = 200_000
CASH = 10_000
GOOG_COMMISSION = 0.002
FAST, SLOW = 10, 20
SWEEP = {"fast": list(range(5, 55, 5)), "slow": list(range(60, 160, 10))}  # 10 x 10, all fast < slow


# --- data ---------------------------------------------------------------------------------------------


def synthetic_frame(count: int = SYNTHETIC_BARS, seed: int = 7) -> Any:
    """One-minute bars on a 0.01 tick: a geometric random walk of closes, each bar opening at the
    previous close, highs and lows a few ticks beyond. Columns in backtesting.py's form."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.0005, count))), 2)
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.integers(0, 4, count) / 100, 2)
    low = np.round(np.maximum(np.minimum(open_, close) - rng.integers(0, 4, count) / 100, 0.01), 2)
    index = pd.date_range("2021-01-04", periods=count, freq="1min")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": np.full(count, 1000.0)},
        index=index,
    )


def goog_frame() -> Any:
    from backtesting.test import GOOG

    return GOOG


def _spec(symbol: str) -> Any:
    from marketdata.domain import AssetClass, InstrumentSpec

    return InstrumentSpec(
        symbol=symbol,
        name=f"{symbol} (bench)",
        asset_class=AssetClass.STOCK,
        venue="BENCH",
        quote_currency="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        min_quantity=Decimal(1),
        fractionable=False,
        shortable=True,
        tradable=True,
        data_source="bench",
    )


def _series(frame: Any, symbol: str, timeframe: str) -> Any:
    from marketdata.domain import Timeframe
    from strategies.sdk import BarSeries

    return BarSeries.from_frame(frame, _spec(symbol), Timeframe(timeframe))


def _config(commission: float) -> Any:
    from backtests.engine import BacktestConfig
    from orders.matching import BpsCommission, ExecutionConfig, NoCommission

    model = BpsCommission(Decimal(str(commission * 10_000))) if commission else NoCommission()
    return BacktestConfig(initial_cash=Decimal(CASH), execution=ExecutionConfig(commission=model))


def _figures(bars: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"bars": bars, "seconds": round(seconds, 3), "bars_per_second": round(bars / seconds), **extra}


# --- the three engines --------------------------------------------------------------------------------


def ours(frame: Any, symbol: str, timeframe: str, commission: float) -> dict[str, Any]:
    from backtests.engine import run_backtest
    from strategies.builtins import MovingAverageCrossover

    started = time.perf_counter()
    data = _series(frame, symbol, timeframe)
    prepared = time.perf_counter() - started
    started = time.perf_counter()
    result = run_backtest(MovingAverageCrossover(fast=FAST, slow=SLOW), data, _config(commission))
    seconds = time.perf_counter() - started
    return _figures(
        len(frame),
        seconds,
        trades=len(result.trades),
        final_equity=round(float(result.final_equity), 2),
        series_from_frame_s=round(prepared, 3),
    )


def _backtesting_strategy() -> Any:
    from bench.sma_cross import SmaCross

    return SmaCross


def backtesting_py(frame: Any, commission: float) -> dict[str, Any]:
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        stats = Backtest(frame, _backtesting_strategy(), cash=CASH, commission=commission).run()
        seconds = time.perf_counter() - started
    return _figures(
        len(frame), seconds, trades=int(stats["# Trades"]), final_equity=round(stats["Equity Final [$]"], 2)
    )


def _vectorbt_signals(frame: Any) -> tuple[Any, Any]:
    """Our tie rule on pandas' rolling means, decided at the close, acted on at the next bar."""
    close = frame["Close"]
    fast, slow = close.rolling(FAST).mean(), close.rolling(SLOW).mean()
    before_fast, before_slow = fast.shift(1), slow.shift(1)
    up = (fast > slow) & (before_fast <= before_slow)
    down = (fast < slow) & (before_fast >= before_slow)
    return up.shift(1, fill_value=False), down.shift(1, fill_value=False)


def vectorbt_run(frame: Any, commission: float, vbt: Any) -> dict[str, Any]:
    import numpy as np

    started = time.perf_counter()
    entries, exits = _vectorbt_signals(frame)
    portfolio = vbt.Portfolio.from_signals(
        frame["Close"],
        entries,
        exits,
        price=frame["Open"],
        init_cash=CASH,
        fees=commission,
        size=np.inf,
        size_granularity=1,
    )
    final = float(portfolio.final_value())
    trades = int(portfolio.trades.count())
    seconds = time.perf_counter() - started
    return _figures(len(frame), seconds, trades=trades, final_equity=round(final, 2))


def load_vectorbt() -> tuple[Any, str | None, float]:
    """(module or None, why not, seconds to import and compile its kernels on a tiny run)."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import vectorbt as vbt
    except ImportError as error:
        return None, f"vectorbt is not installed ({error}): pip install -r requirements-dev.txt", 0.0
    vectorbt_run(synthetic_frame(200), 0.001, vbt)  # numba compiles on first use: not part of a run
    return vbt, None, time.perf_counter() - started


# --- sweep --------------------------------------------------------------------------------------------


def sweep_ours(processes: int) -> dict[str, Any]:
    from backtests.analysis import grid_search
    from strategies.builtins import MovingAverageCrossover

    data = _series(goog_frame(), "GOOG", "1d")
    started = time.perf_counter()
    search = grid_search(MovingAverageCrossover, data, _config(GOOG_COMMISSION), SWEEP, processes=processes)
    seconds = time.perf_counter() - started
    best = search.best
    assert best is not None
    return {
        "combinations": len(search.rows),
        "processes": processes,
        "seconds": round(seconds, 2),
        "runs_per_second": round(len(search.rows) / seconds, 1),
        "best": f"{best.parameters['fast']}/{best.parameters['slow']} sharpe {best.objective:.3f}",
    }


def sweep_backtesting_py() -> dict[str, Any]:
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest(goog_frame(), _backtesting_strategy(), cash=CASH, commission=GOOG_COMMISSION)
        started = time.perf_counter()
        stats, heatmap = backtest.optimize(
            fast=SWEEP["fast"], slow=SWEEP["slow"], maximize="Sharpe Ratio", return_heatmap=True
        )
        seconds = time.perf_counter() - started
    strategy = stats["_strategy"]
    return {
        "combinations": len(heatmap),
        "processes": os.cpu_count(),
        "seconds": round(seconds, 2),
        "runs_per_second": round(len(heatmap) / seconds, 1),
        "best": f"{strategy.fast}/{strategy.slow} sharpe {stats['Sharpe Ratio']:.3f}",
    }


# --- memory and profile of our 1M-bar run --------------------------------------------------------------


def _vm_high_water_mark() -> int:
    """This process image's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that over an
    exec from the forked parent, so a child of a large benchmark process would report the parent."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _memory_child() -> None:
    """In a fresh process: RSS after imports and data, then the peak over the run."""
    import psutil

    frame = synthetic_frame()
    data = _series(frame, "SYNTH", "1m")
    del frame
    from backtests.engine import run_backtest
    from strategies.builtins import MovingAverageCrossover

    before = psutil.Process().memory_info().rss
    result = run_backtest(MovingAverageCrossover(fast=FAST, slow=SLOW), data, _config(0.0))
    peak = _vm_high_water_mark()
    figures = {
        "rss_before_run_mb": round(before / 2**20),
        "peak_rss_mb": round(peak / 2**20),
        "trades": len(result.trades),
    }
    print(json.dumps(figures))


def peak_memory() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--memory-child"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


_AREAS = {  # (file, function) whose cumulative time is one area of the run
    "orders reaching the market (size, check, fill, book)": ("engine/loop.py", "_process_single"),
    "strategy on_bar (crossing test, order calls)": ("moving_average_crossover.py", "on_bar"),
    "results after the loop (records, curves, metrics)": ("engine/loop.py", "_result"),
    "  of which the order records": ("engine/results.py", "order_record"),
}


def profile_run(frame: Any) -> list[str]:
    """The 1M-bar run under cProfile: the share of the main areas, then the functions with the most
    time of their own (profiling roughly doubles the run time; the shares are what matter)."""
    from backtests.engine import run_backtest
    from strategies.builtins import MovingAverageCrossover

    data = _series(frame, "SYNTH", "1m")
    profiler = cProfile.Profile()
    profiler.enable()
    run_backtest(MovingAverageCrossover(fast=FAST, slow=SLOW), data, _config(0.0))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]

    def cumulative(file: str, function: str) -> float:
        return float(
            sum(
                row[3] for (path, _, name), row in entries.items() if name == function and path.endswith(file)
            )
        )

    whole = cumulative("engine/loop.py", "run_backtest")
    lines = [f"profiled run: {whole:.2f} s (shares of it; profiling inflates small calls)"]
    for area, (file, function) in _AREAS.items():
        lines.append(f"{100 * cumulative(file, function) / whole:5.1f} %  {area}")
    lines.append("functions by own time:")
    by_own = sorted(entries.items(), key=lambda item: -item[1][2])[:10]
    for (path, line, name), (_, calls, own, total, _) in by_own:
        where = f"{os.path.basename(path)}:{line}({name})"
        lines.append(f"{100 * own / whole:5.1f} % own, {total:5.2f} s cum, {calls:>9} calls  {where}")
    return lines


# --- the platform path --------------------------------------------------------------------------------


def platform_path(frame: Any) -> dict[str, Any]:
    """Bars stored in PostgreSQL, a run created and executed by the services (what the Celery task
    does), results stored."""
    import secrets
    from datetime import timedelta

    from accounts.services import register_user
    from backtests import services
    from marketdata.domain import Bar, Timeframe
    from marketdata.models import Instrument
    from marketdata.services import sync_instruments, upsert_bars

    part = frame.iloc[:PLATFORM_BARS]
    sync_instruments([_spec("BENCHWALK")])
    instrument = Instrument.objects.get(venue="BENCH", symbol="BENCHWALK")
    started = time.perf_counter()
    bars = [
        Bar(
            "BENCHWALK",
            Timeframe.M1,
            moment.tz_localize("UTC").to_pydatetime(),
            Decimal(f"{row.Open:.2f}"),
            Decimal(f"{row.High:.2f}"),
            Decimal(f"{row.Low:.2f}"),
            Decimal(f"{row.Close:.2f}"),
            Decimal(1000),
            None,
        )
        for moment, row in zip(part.index, part.itertuples(index=False), strict=True)
    ]
    for first in range(0, len(bars), 50_000):
        upsert_bars(instrument=instrument, bars=bars[first : first + 50_000])
    stored = time.perf_counter() - started
    user = register_user(
        username="backtester", email="backtester@example.com", password=secrets.token_urlsafe(24)
    )
    start = bars[0].open_time
    started = time.perf_counter()
    row = services.create_backtest(
        owner=user,
        request=services.BacktestRequest(
            strategy="moving_average_crossover",
            symbols=["BENCHWALK"],
            timeframe="1m",
            start=start + timedelta(minutes=60),
            end=bars[-1].open_time + timedelta(minutes=1),
            parameters={"fast": FAST, "slow": SLOW},
            starting_cash=Decimal(CASH),
        ),
    )
    created = time.perf_counter() - started
    started = time.perf_counter()
    series = services.load_series(
        ["BENCHWALK"], Timeframe.M1, row.start, row.end, warmup_bars=row.warmup_bars
    )
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    done = services.run_backtest(backtest_id=row.pk)
    seconds = time.perf_counter() - started
    assert done is not None
    assert done.status == "completed", done.error_message
    return {
        "bars": len(series[0]),
        "store_bars_s": round(stored, 2),
        "create_s": round(created, 3),
        "load_bars_s": round(loaded, 3),
        "run_s": round(seconds, 2),
        "bars_per_second": round(len(series[0]) / seconds),
        "engine_s": done.results["elapsed_seconds"],
        "trades": done.results["trades"]["count"],
    }


# --- the part -----------------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    os.environ["TQDM_DISABLE"] = "1"  # backtesting.py's progress bars would garble the output
    results: dict[str, Any] = {}
    heading("Backtest: SMA(10/20) crossover, ours vs backtesting.py vs vectorbt")
    vbt, why_not, vbt_setup = load_vectorbt()
    if vbt is None:
        print(f"  vectorbt skipped: {why_not}", flush=True)
    else:
        show("vectorbt import + kernel compilation (not counted below)", {"seconds": round(vbt_setup, 1)})
    goog = goog_frame()
    synthetic = synthetic_frame()
    for label, frame, symbol, timeframe, commission in (
        ("GOOG daily", goog, "GOOG", "1d", GOOG_COMMISSION),
        ("1M synthetic 1-minute bars", synthetic, "SYNTH", "1m", 0.0),
    ):
        block: dict[str, Any] = {
            "ours": ours(frame, symbol, timeframe, commission),
            "backtesting.py": backtesting_py(frame, commission),
        }
        block["vectorbt"] = vectorbt_run(frame, commission, vbt) if vbt is not None else {"skipped": why_not}
        for engine, figures in block.items():
            show(f"{label}: {engine}", figures)
        ratio = block["ours"]["bars_per_second"] / block["backtesting.py"]["bars_per_second"]
        show(f"{label}: ours / backtesting.py bars per second", {"ratio": round(ratio, 2)})
        results[label] = block

    heading("Backtest: 100-combination sweep on GOOG (fast 5..50 x slow 60..150, objective Sharpe)")
    sweep = {
        "ours, 1 process": sweep_ours(1),
        "ours, 2-process pool": sweep_ours(2),
        "backtesting.py optimize": sweep_backtesting_py(),
    }
    for name, figures in sweep.items():
        show(name, figures)
    results["sweep"] = sweep

    heading("Backtest: our 1M-bar run, peak memory (fresh process) and profile")
    results["memory"] = peak_memory()
    show("memory", results["memory"])
    results["profile"] = profile_run(synthetic)
    for line in results["profile"]:
        print(f"    {line}", flush=True)

    heading(f"Backtest: the platform path ({PLATFORM_BARS:,} one-minute bars in PostgreSQL, services)")
    results["platform"] = platform_path(synthetic)
    show("stored, created, loaded and run", results["platform"])
    results["load_average"] = [round(value, 2) for value in os.getloadavg()]
    show("load average at the end", {"1/5/15 min": results["load_average"]})
    return results


if __name__ == "__main__":
    if "--memory-child" in sys.argv:
        _memory_child()
