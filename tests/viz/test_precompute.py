"""What the process rendering ahead makes first: around the values just shown, and ahead of a
slider that is moving (viz._precompute and InteractiveFigure._order_ahead)."""

import threading

import numpy as np
import pytest

from adaptive_lr import viz
from adaptive_lr.viz import _precompute


def draw_two(ax, a, b, on=True):
    x = np.linspace(0, 1, 20)
    ax.plot(x, a * x + b, label="a x + b")
    ax.set(title="a line", xlabel="x", ylabel="y")
    ax.legend()


@pytest.fixture(scope="module")
def w():
    return viz.interactive_plot(draw_two, a=viz.slider(0, 1, 0.5, 0.1), b=viz.slider(0, 1, 0.5, 0.1),
                                on=viz.toggle(True))


def _moved(order, centre):
    """The (control, value) each listed entry moves away from ``centre``."""
    moved = [next(k for k in v if v[k] != centre[k]) for _, v in order]
    return [(k, round(v[k], 6)) for k, (_, v) in zip(moved, order)]


def test_the_heading_is_the_one_slider_that_moved_and_its_direction(w):
    c = {"a": 0.5, "b": 0.5, "on": True}
    assert w._heading(None, c) is None
    assert w._heading({**c, "a": 0.4}, c) == ("a", 1)
    assert w._heading({**c, "b": 0.6}, c) == ("b", -1)
    assert w._heading(c, c) is None
    assert w._heading({**c, "a": 0.4, "b": 0.4}, c) is None  # two at once: no drag to follow
    assert w._heading({**c, "on": False}, c) is None  # a checkbox has no direction


def test_values_ahead_of_a_moving_slider_come_before_the_other_controls_nearest(w):
    c = {"a": 0.5, "b": 0.5, "on": True}
    still = _moved(w._order(c), c)
    assert still[:3] == [("a", 0.4), ("a", 0.6), ("b", 0.4)]  # nearest first, control by control
    moving = _moved(w._order(c, heading=("a", 1)), c)
    assert moving[:4] == [("a", 0.6), ("a", 0.7), ("a", 0.8), ("a", 0.4)]
    assert moving.index(("a", 0.4)) < moving.index(("a", 0.3))  # behind it: nearest first still
    assert sorted(moving) == sorted(still)  # the same values, in another order
    [(_, here), *rest] = w._order_ahead(c, {**c, "a": 0.4})  # "a" moved up to 0.5
    assert here == c  # the centre's own image first (a slider coming back), then ahead of it
    assert _moved(rest, c) == moving


@pytest.mark.skipif(not _precompute.available(), reason="needs os.fork")
def test_the_child_lists_each_new_centre_with_the_one_before_it():
    made, first, second = [], threading.Event(), threading.Event()

    def store(key, frame):
        made.append(key)
        (second if first.is_set() else first).set()

    def order(centre, previous):  # one entry per listing, named by what it was listed with
        return [((centre, previous), centre)]

    worker = _precompute.Precomputer(lambda v: v, order, store, centre=0)
    try:
        assert first.wait(30), made
        worker.recentre(1)
        assert second.wait(30), made
    finally:
        worker.stop()
    assert made == [(0, None), (1, 0)]


@pytest.mark.skipif(not _precompute.available(), reason="needs os.fork")
def test_a_team_of_two_computes_every_listed_value_once_and_both_take_part():
    import os
    import time

    made, lock = [], threading.Lock()

    def store(key, pid):
        with lock:
            made.append((key, pid))

    def order(centre, previous):
        return [((centre, i), i) for i in range(40)]

    team = _precompute.Team(2, lambda v: os.getpid(), order, store, centre=0)
    try:
        deadline = time.monotonic() + 60
        while len(made) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a duplicate would arrive by now
    finally:
        team.stop()
        team.join(timeout=30)
    keys = [k for k, _ in made]
    assert sorted(keys) == sorted((0, i) for i in range(40))  # each once
    assert {pid for _, pid in made} == set(team.pids)  # both children made some
    assert not team.alive


@pytest.mark.skipif(not _precompute.available(), reason="needs os.fork")
def test_a_child_stops_at_its_budget_until_the_next_listing():
    import time

    made, lock = [], threading.Lock()

    def store(key, frame):
        with lock:
            made.append(key)

    def order(centre, previous):
        return [((centre, i), i) for i in range(40)]

    def settled(n):
        deadline = time.monotonic() + 30
        while len(made) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # more would arrive by now
        return list(made)

    worker = _precompute.Precomputer(lambda v: v, order, store, centre=0, budget=(lambda f: 2.0, 10.0))
    try:
        assert settled(5) == [(0, i) for i in range(5)]  # nearest first, 5 of cost 2 fill 10
        worker.recentre(1)
        assert settled(10)[5:] == [(1, i) for i in range(5)]
    finally:
        worker.stop()
