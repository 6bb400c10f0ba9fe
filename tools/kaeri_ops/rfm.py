"""Order histories to the (x, t_x, T, m̄) summaries the BG/NBD and Gamma-Gamma models take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """One row per customer, times in the caller's unit since the customer's first order."""

    customers: NDArray[np.int64]  # the caller's customer index
    frequency: NDArray[np.int64]  # repeat purchase periods (x)
    recency: Array  # t_x
    age: Array  # T
    monetary: Array  # mean value of the repeat periods (0 without repeats)
    first: Array  # time of the first purchase, in the caller's clock
    last: Array  # time of the last purchase before the end


def summarise(
    customer: ArrayLike, time: ArrayLike, value: ArrayLike, end: float, period: float = 1.0
) -> Summary:
    """Summarise purchases up to `end` (inclusive).

    Purchases of one customer in the same period (floor(time / period)) count as one, as in the
    BG/NBD literature (several orders on one day are one repeat "transaction").
    """
    cust = np.asarray(customer, dtype=np.int64)
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(value, dtype=np.float64)
    keep = t <= end
    cust, t, v = cust[keep], t[keep], v[keep]
    slot = np.floor(t / period)
    # One row per (customer, period): its time is the period's first purchase, its value the sum.
    order = np.lexsort((t, slot, cust))
    cust, t, v, slot = cust[order], t[order], v[order], slot[order]
    new = np.ones(cust.size, dtype=bool)
    new[1:] = (cust[1:] != cust[:-1]) | (slot[1:] != slot[:-1])
    starts = np.flatnonzero(new)
    p_cust, p_time = cust[starts], slot[starts] * period
    p_value = np.add.reduceat(v, starts) if v.size else v
    # Per customer.
    first_row = np.ones(p_cust.size, dtype=bool)
    first_row[1:] = p_cust[1:] != p_cust[:-1]
    c_starts = np.flatnonzero(first_row)
    customers = p_cust[c_starts]
    counts = np.diff(np.append(c_starts, p_cust.size))
    first = p_time[c_starts]
    last = p_time[np.append(c_starts[1:], p_cust.size) - 1]
    total = np.add.reduceat(p_value, c_starts) if p_value.size else p_value
    first_value = p_value[c_starts]
    frequency = counts - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, (total - first_value) / np.maximum(frequency, 1), 0.0)
    return Summary(
        customers=customers,
        frequency=frequency.astype(np.int64),
        recency=last - first,
        age=end - first,
        monetary=monetary,
        first=first,
        last=last,
    )
