"""Small vectorised helpers: group starts, ranks and running sums over sorted keys."""

from __future__ import annotations

import numpy as np


def group_starts(keys: np.ndarray) -> np.ndarray:
    """Start positions of runs of equal values in sorted `keys`."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))


def cumcount(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each element within its run of equal sorted keys."""
    starts = group_starts(keys)
    lengths = np.diff(np.append(starts, keys.size))
    return np.arange(keys.size) - np.repeat(starts, lengths)


def group_cumsum(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of `values` within each run of equal sorted keys (inclusive)."""
    if keys.size == 0:
        return values.copy()
    cs = np.cumsum(values)
    starts = group_starts(keys)
    lengths = np.diff(np.append(starts, keys.size))
    before = cs[starts] - values[starts]
    return cs - np.repeat(before, lengths)


def group_ids(keys: np.ndarray) -> np.ndarray:
    """0-based run number of each element of sorted `keys`."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(([0], np.cumsum(keys[1:] != keys[:-1])))


def uniform_int(
    rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int
) -> np.ndarray:
    """Integers in [low, high] (inclusive, element-wise)."""
    low = np.asarray(low)
    high = np.asarray(high)
    shape = np.broadcast(low, high).shape
    return (low + np.floor(rng.random(shape) * (high - low + 1))).astype(np.int64)
