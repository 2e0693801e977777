"""Small, exact statistics for the insights: rates with intervals, a permutation test for two
rates, Holm's correction, and a rank test. Nothing here is flagged on noise: callers flag a
difference only when the (corrected) p-value says so."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from desktop.core.types import Frozen

SIGNIFICANCE = 0.05
PERMUTATIONS = 9999


class Rate(Frozen):
    """``hits`` of ``total``, with a 95% Wilson score interval (sound for small counts and rates near 0 or 1)."""

    hits: int
    total: int
    rate: float | None = None
    low: float | None = None
    high: float | None = None


def rate(hits: int, total: int, z: float = 1.96) -> Rate:
    if total == 0:
        return Rate(hits=0, total=0)
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Rate(hits=hits, total=total, rate=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


def permutation_p(before: Rate, after: Rate, *, permutations: int = PERMUTATIONS, seed: int = 0) -> float:
    """Two-sided permutation test of the difference between two rates.

    Shuffling the pooled outcomes between the groups leaves a hypergeometric number of hits in the
    first group, so the permutations are drawn from it directly: the same test, in O(permutations)."""
    pooled_hits, n_a, n_b = before.hits + after.hits, before.total, after.total
    if n_a == 0 or n_b == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    hits_a = rng.hypergeometric(pooled_hits, n_a + n_b - pooled_hits, n_a, size=permutations)
    differences = np.abs(hits_a / n_a - (pooled_hits - hits_a) / n_b)
    observed = abs(before.hits / n_a - after.hits / n_b)
    extreme = int(np.count_nonzero(differences >= observed - 1e-12))
    return (1 + extreme) / (1 + permutations)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction: several metrics compared at once are not several chances to see noise."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def rank_p(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U test: do the two samples come from the same distribution?"""
    from scipy.stats import mannwhitneyu

    if len(set(first) | set(second)) < 2:
        return 1.0  # all values equal: nothing to tell apart
    return float(mannwhitneyu(first, second, alternative="two-sided").pvalue)
