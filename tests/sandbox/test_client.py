"""Kernel clients that are ready as soon as the kernel is (sandbox.client)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from queue import Empty

import pytest
from jupyter_client import KernelManager

from adaptive_lr.sandbox import client


class _Channel:
    def __init__(self, messages):
        self.messages = list(messages)

    def get_msg(self, timeout=None):
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _msg(parent, kind, **content):
    return {"parent_header": {"msg_id": parent}, "msg_type": kind, "content": content}


class _Fake(client._Prompt):
    """Channels with scripted messages; what a client would have read."""

    def __init__(self, shell, iopub):
        self.shell_channel, self.iopub_channel = _Channel(shell), _Channel(iopub)
        self.handled = []

    def _handle_kernel_info_reply(self, msg):
        self.handled.append(msg)


def _ready(fake, msg_id="ask-1"):
    # A thread of its own: a browser test's playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fake._asked_and_idle(msg_id, deadline=float("inf"))).result()


def test_ready_once_both_the_reply_and_its_idle_status_arrived():
    fake = _Fake(shell=[_msg("old", "kernel_info_reply"), _msg("ask-1", "kernel_info_reply")],
                 iopub=[_msg(None, "status", execution_state="starting"),
                        _msg("old", "status", execution_state="idle"),  # another request's
                        _msg("ask-1", "status", execution_state="busy"),
                        _msg("ask-1", "status", execution_state="idle")])
    assert _ready(fake) and len(fake.handled) == 1
    assert fake.iopub_channel.messages == []


def test_not_ready_while_the_idle_status_of_the_request_is_missing(monkeypatch):
    monkeypatch.setattr(client, "ASK_AGAIN_S", 0.05)
    # IOPub connected after the status was published: only another request's idle is there.
    fake = _Fake(shell=[_msg("ask-1", "kernel_info_reply")],
                 iopub=[_msg("old", "status", execution_state="idle")])
    assert not _ready(fake)
    assert not _ready(_Fake(shell=[], iopub=[_msg("ask-1", "status", execution_state="idle")]))


def test_a_real_kernel_is_ready_and_runs_at_once():
    km = KernelManager(kernel_name="python3", client_class=client.BLOCKING)
    km.start_kernel()
    kc = km.client()
    try:
        assert isinstance(kc, client.BlockingClient)
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        assert kc.execute_interactive("print(6 * 7)", timeout=30)["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_dead_kernel_is_reported_not_waited_for():
    km = KernelManager(kernel_name="python3", client_class=client.BLOCKING)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    km.shutdown_kernel(now=True)  # killed before it could answer
    try:
        with pytest.raises(RuntimeError, match="died|didn't respond"):
            kc.wait_for_ready(timeout=5)
    finally:
        kc.stop_channels()
