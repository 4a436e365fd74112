"""What one ticket costs a window today, learned from the day: per business, from the call (recalls included)
to the finish, blended with a starting figure while few are seen, robust to a service left open over the
lunch break, with no-shows counted at what they cost; the whole hall's pace first, each business's own after;
and each window's pace against the others on the same businesses.

The starting figure is the hall's own, not only the catalog's: the services of the hall's earlier days are
learned exactly as today's are (from the catalog's figure), and what they taught is where today starts. A hall
whose clerks take twenty minutes for what the catalog calls fifteen then tells the first citizens of the
morning the truth, instead of learning it again every day by lunchtime. Pure: the hall keeps the durations in
its store (kiosk/hall/wait_facts.py) and hands them here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RECENT = 30             # the durations kept per business: the estimate follows the day, not the morning
PRIOR_WEIGHT = 5.0      # the catalog's figure counts as this many observed services
PRIOR_CV = 0.5          # spread assumed around the catalog's figure before the hall has its own
# the catalog's figure is a typical service; service times lean right (a few take far longer), so their mean, what a
# queue adds up, is higher: for a log-normal spread of that CV, by exp(σ²/2) with σ² = ln(1 + CV²)
SKEW = math.exp(math.log(1 + PRIOR_CV ** 2) / 2)
NO_SHOW_PRIOR = 0.04    # share of called tickets whose holder does not come, before the hall has seen any
NO_SHOW_WEIGHT = 20.0
NO_SHOW_MINUTES = 3.0   # what calling a holder who does not come costs a window, before any is seen
PAST_SAMPLES = 60       # the latest durations of earlier days kept per business: the hall as it runs lately
SPEED_WEIGHT = 25.0     # services a window must do before its own pace moves the estimate (ten say little)


@dataclass(frozen=True)
class Durations:
    """What one ticket of a business costs a window, as learned today."""

    mean: float              # minutes from call to finish, for a holder who comes
    sd: float
    no_show_rate: float = NO_SHOW_PRIOR
    no_show_minutes: float = NO_SHOW_MINUTES
    seen: int = 0

    @property
    def per_ticket(self) -> float:
        p = self.no_show_rate
        return (1 - p) * self.mean + p * self.no_show_minutes

    @property
    def variance(self) -> float:
        p, m = self.no_show_rate, self.per_ticket
        return (1 - p) * (self.sd ** 2 + self.mean ** 2) + p * self.no_show_minutes ** 2 - m * m


def prior(minutes: float) -> Durations:
    """What a ticket of a business whose catalog figure is ``minutes`` costs, before the day says otherwise."""
    return Durations(minutes * SKEW, minutes * SKEW * PRIOR_CV)


DEFAULT = prior(15.0)  # a business the facts do not know (it should not happen: the catalog lists them all)


def robust_mean_sd(samples: Sequence[float]) -> tuple[float, float]:
    """Mean and spread with every sample winsorised at median ± 3 robust standard deviations (from the MAD):
    one service left open over the lunch break moves the estimate by a few seconds, not by an hour."""
    ordered = sorted(samples)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    deviations = sorted(abs(x - median) for x in ordered)
    mad = deviations[n // 2] if n % 2 else (deviations[n // 2 - 1] + deviations[n // 2]) / 2
    scale = max(1.4826 * mad, 0.1 * median, 0.1)
    lo, hi = median - 3 * scale, median + 3 * scale
    clipped = [min(hi, max(lo, x)) for x in ordered]
    mean = sum(clipped) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in clipped) / (n - 1)) if n > 1 else scale
    return mean, sd


@dataclass(frozen=True)
class Seen:
    """What the day has seen of one business: the latest durations (call to finish, call to no-show) in
    minutes, and how many of each in all (the lists are capped at RECENT)."""

    served: Sequence[float] = ()
    no_shows: Sequence[float] = ()
    served_total: int = 0
    no_show_total: int = 0


def learn_day(catalog: Mapping[str, float], seen: Mapping[str, Seen],
              past: Mapping[str, Seen] | None = None) -> dict[str, Durations]:
    """Every business's durations today. What the whole hall has seen moves each business's starting point
    first (a day when every service runs 15% over the catalog shows it after a handful of services, long
    before each business has its own handful), then each business's own services move it further. ``past``:
    what the hall's earlier days saw (their latest durations and their counts); learned the same way from the
    catalog, it is today's starting point."""
    return learned_from(starting(catalog, past), seen)


def starting(catalog: Mapping[str, float], past: Mapping[str, Seen] | None) -> dict[str, Durations]:
    """Where the day starts: the catalog's figures, or what the hall's earlier days taught from them (the hall
    works this out once a day)."""
    start = {code: prior(minutes) for code, minutes in catalog.items()}
    return learned_from(start, past) if past else start


def learned_from(start: Mapping[str, Durations], seen: Mapping[str, Seen]) -> dict[str, Durations]:
    """Each business's durations from its starting figure and what was seen (today's services, or the past's)."""
    ratios = [min(4.0, max(0.25, x / start[code].mean)) for code, s in seen.items()
              if code in start and start[code].mean > 0 for x in s.served]
    pace = (PRIOR_WEIGHT + sum(ratios)) / (PRIOR_WEIGHT + len(ratios))
    called = sum(s.served_total + s.no_show_total for s in seen.values())
    missed = sum(s.no_show_total for s in seen.values())
    return {code: learn(scaled(base, pace), *_seen(seen.get(code)),
                        no_show_prior=(NO_SHOW_WEIGHT * base.no_show_rate + missed) / (NO_SHOW_WEIGHT + called))
            for code, base in start.items()}


def scaled(base: Durations, pace: float) -> Durations:
    """``base`` at ``pace`` (1.5: every service half as long again)."""
    return Durations(base.mean * pace, base.sd * pace, base.no_show_rate, base.no_show_minutes, base.seen)


def _seen(s: Seen | None) -> tuple[Sequence[float], Sequence[float], int, int]:
    s = s or Seen()
    return s.served, s.no_shows, s.served_total, s.no_show_total


def learn(start: float | Durations, served: Sequence[float], no_shows: Sequence[float] = (), served_total: int = 0,
          no_show_total: int = 0, no_show_prior: float = NO_SHOW_PRIOR) -> Durations:
    """Today's durations of one business, blended with the starting figure while few are seen (shrinkage).

    ``start``: the catalog's minutes, or what the hall's earlier days taught;
    ``served``/``no_shows``: the most recent durations (call to finish, call to no-show) in minutes;
    ``served_total``/``no_show_total``: how many of each the day has seen (the recent lists are capped)."""
    base = prior(start) if isinstance(start, (int, float)) else start
    served_total = max(served_total, len(served))
    no_show_total = max(no_show_total, len(no_shows))
    mean, sd = base.mean, base.sd
    if served:
        # the recent durations say what a ticket costs now; how many the day has seen says how far to trust them
        m, s = robust_mean_sd(served)
        n = served_total
        mean = (PRIOR_WEIGHT * base.mean + n * m) / (PRIOR_WEIGHT + n)
        sd = math.sqrt((PRIOR_WEIGHT * base.sd ** 2 + n * s ** 2) / (PRIOR_WEIGHT + n))
    ns_minutes = base.no_show_minutes
    if no_shows:
        ns_minutes = (2 * base.no_show_minutes + sum(no_shows)) / (2 + len(no_shows))
    called = served_total + no_show_total
    rate = (NO_SHOW_WEIGHT * no_show_prior + no_show_total) / (NO_SHOW_WEIGHT + called)
    return Durations(mean, sd, rate, ns_minutes, served_total)


def window_speeds(by_window: Mapping[tuple[str, int], tuple[int, float]]) -> dict[int, float]:
    """Each window's pace against the hall's on the same businesses: (business, window) → (services, total
    minutes). A window that alone serves its businesses has nothing to be compared with and keeps 1.0, so a
    business slower than its catalog figure is learned once (in :func:`learn`), not twice."""
    per_business: dict[str, tuple[int, float]] = {}
    for (business, _w), (n, total) in by_window.items():
        a, b = per_business.get(business, (0, 0.0))
        per_business[business] = (a + n, b + total)
    weight: dict[int, float] = {}
    ratio: dict[int, float] = {}
    for (business, w), (n, total) in by_window.items():
        all_n, all_total = per_business[business]
        if n <= 0 or all_n <= n or all_total <= 0:
            continue
        others = (all_total - total) / (all_n - n)
        if others <= 0:
            continue
        weight[w] = weight.get(w, 0.0) + n
        ratio[w] = ratio.get(w, 0.0) + n * min(4.0, max(0.25, (total / n) / others))
    return {w: (SPEED_WEIGHT + ratio[w]) / (SPEED_WEIGHT + weight[w]) for w in weight}
