"""The benchmark's arithmetic: percentiles, the peak of a sweep, ratios and a memory slope."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` 0.99 is p99): a value that was measured, never an
    interpolation between two; None for no values."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def summary_ms(seconds: Sequence[float]) -> dict:
    """Count, p50, p99 and max of durations given in seconds, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


def sweep_peak(rates: dict[int, float]) -> tuple[int, float]:
    """The client count with the highest rate, and that rate (the first such count on a tie)."""
    if not rates:
        raise ValueError("no rates measured")
    clients = max(sorted(rates), key=lambda count: rates[count])
    return clients, rates[clients]


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference to three places; None when either is missing or the reference is 0."""
    if value is None or not reference:
        return None
    return round(value / reference, 3)


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of y over x; None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance
