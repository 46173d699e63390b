"""Linear assignment (Hungarian algorithm), with SciPy when it is installed.

SciPy is not a dependency of keras_crowd: `linear_sum_assignment` uses
``scipy.optimize.linear_sum_assignment`` when SciPy imports, and otherwise a
small O(K^3) NumPy implementation of the Hungarian algorithm (both are exact).
"""

import numpy as np


def hungarian(cost):
    """Exact minimum-cost assignment of a square cost matrix, in NumPy.

    The O(n^3) shortest-augmenting-path form of the Hungarian algorithm
    (Kuhn-Munkres with potentials).

    Args:
        cost: (n, n) finite float array.

    Returns:
        (n,) int array: ``assignment[i]`` is the column given to row i.

    Example:

    >>> hungarian(np.array([[4.0, 1.0], [2.0, 3.0]])).tolist()
    [1, 0]
    """
    cost = np.asarray(cost, dtype=np.float64)
    n = cost.shape[0]
    if cost.shape != (n, n):
        raise ValueError(f"hungarian needs a square matrix; got shape {cost.shape}.")
    # 1-based arrays; index 0 is a virtual column.
    u = np.zeros(n + 1)
    v = np.zeros(n + 1)
    row_of_column = np.zeros(n + 1, dtype=np.int64)
    way = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        row_of_column[0] = i
        j0 = 0
        min_slack = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = row_of_column[j0]
            free = ~used
            free[0] = False
            columns = np.flatnonzero(free)
            slack = cost[i0 - 1, columns - 1] - u[i0] - v[columns]
            better = slack < min_slack[columns]
            min_slack[columns[better]] = slack[better]
            way[columns[better]] = j0
            j1 = columns[np.argmin(min_slack[columns])]
            delta = min_slack[j1]
            u[row_of_column[used]] += delta
            v[used] -= delta
            min_slack[free] -= delta
            j0 = j1
            if row_of_column[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            row_of_column[j0] = row_of_column[j1]
            j0 = j1
    assignment = np.empty(n, dtype=np.int64)
    assignment[row_of_column[1:] - 1] = np.arange(n)
    return assignment


def linear_sum_assignment(cost):
    """Minimum-cost assignment of a square cost matrix.

    Uses SciPy if available, else `hungarian`.

    Returns:
        (n,) int array: the column assigned to each row.
    """
    try:
        from scipy.optimize import linear_sum_assignment as scipy_assignment
    except ImportError:
        return hungarian(cost)
    rows, columns = scipy_assignment(np.asarray(cost, dtype=np.float64))
    assignment = np.empty(len(rows), dtype=np.int64)
    assignment[rows] = columns
    return assignment
