"""Percentiles and printing."""

from __future__ import annotations

from collections.abc import Sequence


def percentiles(samples: Sequence[float], *, scale: float = 1000.0) -> dict[str, float]:
    """p50/p95/p99/max/mean of ``samples`` (seconds), in milliseconds by default."""
    import numpy as np

    if not samples:
        return {"n": 0}
    values = np.asarray(samples, dtype=np.float64) * scale
    return {
        "n": len(samples),
        "p50": round(float(np.percentile(values, 50)), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
        "p99": round(float(np.percentile(values, 99)), 2),
        "max": round(float(values.max()), 2),
        "mean": round(float(values.mean()), 2),
    }


def show(title: str, result: dict[str, object]) -> None:
    print(f"  {title}: " + ", ".join(f"{key}={value}" for key, value in result.items()), flush=True)


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)
