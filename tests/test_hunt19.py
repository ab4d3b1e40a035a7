"""Defects found by the hunt of session 19, each checked against an independent answer."""
import numpy as np
import pytest

import relutope
from relutope.complexity import local_complexity


def test_local_complexity_time_limit_stops_inside_a_neighbourhood():
    # one neighbourhood of 34,358 regions (about 1 s): the run's time_limit must stop its enumeration too, not only
    # be checked between points (it ran the whole neighbourhood and reported it complete)
    net = relutope.Network.random([3, 32, 32, 1], seed=0)
    X = np.full((2, 3), 0.1)
    lc = local_complexity(net, X, 1.0, 3, boundary=False, time_limit=0.01)
    assert lc.status == "time_limit"
    assert not lc.complete.any()
    full = relutope.enumerate_regions(net, relutope.complexity.neighbourhood(X[0], lc.directions[0], 1.0))
    assert 1 <= lc.n_regions[0] < len(full) and lc.n_regions[1] == -1  # a lower bound; the next point not reached
