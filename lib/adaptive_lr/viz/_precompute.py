"""Frames for the slider values next to the current ones, computed ahead in a forked process.

A slider move whose frame (:class:`viz._inplace.Frame`) is cached costs only
giving the live artists its data and rendering them; computing it (the
optimizer runs a figure shows, then ``draw`` on scratch axes) is what takes
most of a move. :class:`Precomputer` forks the kernel once per figure
(the child has the notebook's functions and data as they are) and the child
computes the frames of the grid values nearest the current ones, one
control at a time, nearest first, re-centred on every move; the kernel
receives them on a thread and caches them. A :class:`Team` of such children
shares the work (each value is one child's, by its key's hash, so no two
compute the same one): two cores render twice the values a drag reaches. The child runs at the lowest CPU
priority, so it uses only what the kernel, the browser and the server leave.
While no view of its figure is on screen (``viz._page`` reports it) the
child is paused: it keeps reading its pipe and checking that the kernel
lives, and computes nothing.

Only where ``os.fork`` exists and is safe to use without ``exec`` (Linux);
elsewhere, and whenever the child dies, a move computes its frame itself.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from multiprocessing.connection import Pipe


_PAUSE, _RESUME = "pause", "resume"  # what the kernel sends the child besides centres (dicts)


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class Precomputer:
    """A child process computing ``compute(values) -> frame`` for the values ``order`` lists.

    ``order(centre, previous)`` lists ``(key, values)`` pairs to compute, nearest first
    (``previous``: the centre before, None when there is none, so that the values ahead of a
    moving slider come first);
    ``store(key, frame)`` receives each frame (on a reader thread);
    ``known`` is the set of keys already cached, which the child skips;
    ``setup()``, when given, runs first in the child (to let go of what
    belongs to the kernel, such as a widget's connection to the browser);
    ``share = (j, n)``: the child computes only the keys whose hash is ``j`` modulo ``n``;
    ``budget = (cost, limit)``: after each listing the child stops once the ``cost(frame)`` of
    what it computed adds up to ``limit`` (the bytes the page keeps: more would push out of
    it the images nearest the sliders, made first, for ones far away).
    """

    def __init__(self, compute, order, store, centre, known=(), setup=None, share=(0, 1),
                 budget=None):
        self._conn, child = Pipe(duplex=True)
        parent_pid = os.getpid()
        # Linux ends a child with its parent *thread*: ask for it only from the one that lasts.
        tie = threading.current_thread() is threading.main_thread()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            self._conn.close()
            if tie:
                _die_with_parent()
            _child_main(child, compute, _share_of(order, *share), centre, set(known), parent_pid,
                        setup, budget)
        child.close()
        self.pid = pid
        self._lock = threading.Lock()
        self.paused = False
        self._thread = threading.Thread(target=self._receive, args=(self._conn, store, pid),
                                        daemon=True, name=f"viz-precompute-{pid}")
        self._thread.start()

    @staticmethod
    def _receive(conn, store, pid):
        try:
            while True:
                key, frame = conn.recv()
                store(key, frame)
        except (EOFError, OSError):
            pass
        finally:
            conn.close()
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def recentre(self, centre) -> None:
        """Compute next around ``centre`` (the values just shown)."""
        with self._lock:
            try:
                self._conn.send(centre)
            except (OSError, ValueError):
                pass

    def pause(self) -> None:
        """Have the child stop computing while its figure is off screen, so that the cores go to
        the one in view. It keeps reading its pipe (moves never block the kernel) and keeps
        checking that the kernel lives; it finishes the value it is on."""
        self.paused = True
        self.recentre(_PAUSE)

    def resume(self) -> None:
        """Let a paused child go on computing around the latest centre it was sent."""
        self.paused = False
        self.recentre(_RESUME)

    def stop(self) -> None:
        """Ask the child to exit (the reader thread then sees the pipe close, and reaps it)."""
        self.recentre(None)

    def join(self, timeout=None) -> None:
        """Wait until the child has ended and been reaped."""
        self._thread.join(timeout)


def _share_of(order, j, n):
    """``order`` keeping only the entries whose key is child ``j``'s of ``n``.

    Forked children share the kernel's hash seed, so all agree whose a key is.
    """
    if n == 1:
        return order
    return lambda centre, previous: [kv for kv in order(centre, previous) if hash(kv[0]) % n == j]


class Team:
    """``n`` :class:`Precomputer` children sharing one figure's values; the same interface."""

    def __init__(self, n, compute, order, store, centre, known=(), setup=None, budget=None):
        """``budget = (cost, limit)`` is the team's: each child has ``limit / n``."""
        share = None if budget is None else (budget[0], budget[1] / n)
        self.members = [Precomputer(compute, order, store, centre, known, setup, share=(j, n),
                                    budget=share) for j in range(n)]

    @property
    def alive(self) -> bool:
        """True while any child runs (a dead child's values are computed on their moves)."""
        return any(m.alive for m in self.members)

    @property
    def paused(self) -> bool:
        return all(m.paused for m in self.members)

    @property
    def pids(self) -> list:
        return [m.pid for m in self.members]

    def recentre(self, centre) -> None:
        for m in self.members:
            m.recentre(centre)

    def pause(self) -> None:
        for m in self.members:
            m.pause()

    def resume(self) -> None:
        for m in self.members:
            m.resume()

    def stop(self) -> None:
        for m in self.members:
            m.stop()

    def join(self, timeout=None) -> None:
        for m in self.members:
            m.join(timeout)


def _die_with_parent() -> None:
    """Have the kernel's end end this process too, even between two frames (Linux's prctl)."""
    from .._linux import end_with_parent

    end_with_parent()  # where it is not available, the loop notices a new parent between frames


def _child_main(conn, compute, order, centre, known, parent_pid, setup=None, budget=None):
    status = 0
    try:
        os.setsid()  # the kernel's interrupts (SIGINT to its process group) are not for it
        os.nice(19)
        # The kernel's output streams belong to threads that do not exist in this process.
        sys.stdout = sys.stderr = open(os.devnull, "w")
        warnings.simplefilter("ignore")
        if setup is not None:
            setup()
        queue = list(order(centre, None))
        paused, spent = False, 0.0
        while os.getppid() == parent_pid:
            if conn.poll(0 if queue and not paused else 1.0):
                message = conn.recv()
                if message is None:  # asked to stop
                    break
                if message == _PAUSE:
                    paused = True
                elif message == _RESUME:
                    paused, spent = False, 0.0
                    queue = list(order(centre, None))
                else:
                    previous, centre = centre, message
                    if not paused:  # else listed on resume: moves come far faster than lists
                        queue, spent = list(order(centre, previous)), 0.0
                continue
            if paused or not queue:
                continue
            key, values = queue.pop(0)
            if key in known:
                continue
            known.add(key)
            try:
                frame = compute(values)
            except Exception:  # a value draw cannot show: the kernel reports it on that move
                continue
            conn.send((key, frame))
            if budget is not None:
                spent += budget[0](frame)
                if spent >= budget[1]:
                    queue = []  # until the next listing
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    except BaseException:
        status = 1
    finally:
        os._exit(status)
