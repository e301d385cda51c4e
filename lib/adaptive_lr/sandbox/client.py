"""Kernel clients that know a kernel is ready as soon as it is, for the grader's kernels.

jupyter_client's ``wait_for_ready`` takes a ``kernel_info`` reply on the
shell channel and any message on IOPub as the sign that both are connected,
and then waits for 0.2 s of silence on IOPub, to drop what came before. A
grader starts two kernels per submission (nbclient's and the re-check's),
so that is 0.4 s of each submission spent waiting for nothing, and zmq's
default of 100 ms between attempts to connect to a socket the kernel has not
bound yet adds up to that again.

These clients ask for ``kernel_info`` and wait for its reply on shell and
for the IOPub ``idle`` status of that same request: then both channels are
connected and the kernel is idle. Nothing is flushed: what came before on
IOPub (the kernel's ``starting`` status, an earlier request's) has another
parent, and both of the grader's clients (nbclient and the re-check) read
only the messages of their own requests. A request whose status was lost
(IOPub connected just after it was published) is asked again.
"""

from __future__ import annotations

import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.utils import run_sync

RETRY_CONNECT_MS = 10  # between attempts to connect to a socket not bound yet (zmq: 100)
ASK_AGAIN_S = 0.5  # for an idle status that may have been published before IOPub connected


class _Prompt:
    """The readiness check of the module docstring (a mixin before the client class)."""

    def start_channels(self, *args, **kwargs):
        self.context.setsockopt(zmq.RECONNECT_IVL, RETRY_CONNECT_MS)  # for the sockets made now
        return super().start_channels(*args, **kwargs)

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            if await self._asked_and_idle(self.kernel_info(), deadline):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _asked_and_idle(self, msg_id: str, deadline: float) -> bool:
        """Whether the reply to ``msg_id`` and its idle status both arrived in time."""
        replied, idle = False, False
        give_up = min(deadline, time.monotonic() + ASK_AGAIN_S)
        while not (replied and idle):
            left = give_up - time.monotonic()
            if left <= 0:
                return False
            channel = self.iopub_channel if replied else self.shell_channel
            try:
                msg = await _get(channel, min(left, 0.05) if replied else left)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "kernel_info_reply":
                replied = True
                self._handle_kernel_info_reply(msg)
            elif msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
        return True


async def _get(channel, timeout: float):
    result = channel.get_msg(timeout=timeout)
    return await result if hasattr(result, "__await__") else result


class AsyncClient(_Prompt, AsyncKernelClient):
    """nbclient's client (an ``AsyncKernelManager``'s), ready as soon as the kernel is."""


class BlockingClient(_Prompt, BlockingKernelClient):
    """The re-check's client (a ``KernelManager``'s), ready as soon as the kernel is."""

    wait_for_ready = run_sync(_Prompt._async_wait_for_ready)


ASYNC = f"{__name__}.AsyncClient"
BLOCKING = f"{__name__}.BlockingClient"
