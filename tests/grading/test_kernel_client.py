"""The kernel client of every notebook run: a message whose wake-up went elsewhere is still read."""
from __future__ import annotations

import asyncio
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from autograder.kernel_client import PromptChannel, PromptKernelClient, use_prompt_client


async def _wait_while_a_reply_arrives(timeout: float | None) -> dict:
    """A channel waiting for a message; meanwhile a reply arrives and someone else reads the socket's
    events (as libzmq's own command processing does), which consumes the wake-up of the wait."""
    context = zmq.asyncio.Context()
    kernel, client = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    kernel.bind("inproc://kernel-client-test")
    client.connect("inproc://kernel-client-test")
    session = Session()
    channel = PromptChannel(client, session)

    async def reply() -> None:
        await asyncio.sleep(0.2)
        session.send(kernel, "execute_reply", {"status": "ok"})
        zmq.Socket.shadow(client.underlying).get(zmq.EVENTS)

    try:
        replying = asyncio.ensure_future(reply())
        # jupyter_client's own channel never returns here (without a deadline), or only at the deadline
        message = await asyncio.wait_for(channel.get_msg(timeout=timeout), 5)
        await replying
        return message
    finally:
        kernel.close(linger=0)
        client.close(linger=0)
        context.term()


@pytest.mark.parametrize("timeout", [None, 30.0])
def test_a_reply_whose_wake_up_was_consumed_is_read(timeout):
    message = asyncio.run(_wait_while_a_reply_arrives(timeout))
    assert message["msg_type"] == "execute_reply"
    assert message["content"] == {"status": "ok"}


def test_a_wait_with_nothing_to_read_ends_at_its_deadline():
    async def wait() -> None:
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.PAIR)
        socket.bind("inproc://kernel-client-quiet")
        try:
            await PromptChannel(socket, Session()).get_msg(timeout=0.6)
        finally:
            socket.close(linger=0)
            context.term()

    with pytest.raises(Empty):
        asyncio.run(wait())


def test_every_kernel_manager_of_ours_hands_out_the_prompt_client():
    from jupyter_client.manager import AsyncKernelManager

    from autograder.sandbox.kernel import SandboxedKernelManager
    from autograder.sandbox.kernel_zygote import ZygoteKernelManager

    for manager in (AsyncKernelManager, SandboxedKernelManager, ZygoteKernelManager):
        client = manager(config=use_prompt_client()).client()
        assert isinstance(client, PromptKernelClient), manager
        assert client.shell_channel_class is PromptChannel and client.iopub_channel_class is PromptChannel


def test_nbgrader_runs_use_it(tmp_path):
    from autograder.grading.nbgrader_steps import autograde_api

    api = autograde_api(tmp_path, 30, sandboxed=True)
    assert api.config.AsyncKernelManager.client_class == "autograder.kernel_client.PromptKernelClient"


def test_a_kernel_is_ready_once_it_answered_and_no_output_is_lost(monkeypatch):
    """A real kernel: its readiness wait never sits on an empty IOPub (jupyter_client's last step waits
    0.2 s there on every start), and the cells run right after it still get all their output."""
    import nbformat
    from nbclient import NotebookClient

    waits: list[tuple[str, float | None, str]] = []
    get_msg = PromptChannel.get_msg

    async def recorded(self, timeout=None):
        try:
            message = await get_msg(self, timeout)
        except Empty:
            waits.append((self.socket.type, timeout, "empty"))
            raise
        waits.append((self.socket.type, timeout, message["msg_type"]))
        return message

    monkeypatch.setattr(PromptChannel, "get_msg", recorded)
    cells = ["print('first')", "import sys; print('err', file=sys.stderr); 6 * 7", "print('last')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=60, kernel_name="python3", config=use_prompt_client()).execute()

    replied = next(i for i, (_, _, kind) in enumerate(waits) if kind == "kernel_info_reply")
    first_execute = next(i for i, (_, _, kind) in enumerate(waits) if kind == "execute_input")
    ready = waits[replied:first_execute]
    assert [w for w in ready if w[2] == "empty" and w[0] == zmq.SUB and w[1]] == [], ready
    assert [o["text"] for o in nb.cells[0].outputs] == ["first\n"]
    assert [o.get("text") or o["data"]["text/plain"] for o in nb.cells[1].outputs] == ["err\n", "42"]
    assert [o["text"] for o in nb.cells[2].outputs] == ["last\n"]


def test_a_client_tries_again_soon_to_reach_a_kernel_not_yet_listening(tmp_path):
    """The client connects as soon as the kernel is launched, before the kernel listens: its next try
    must come within RECONNECT_MS (plus ZeroMQ's jitter of as much), not after ZeroMQ's default
    100 to 200 ms. Read off the socket's own monitor: the delay each retry is scheduled with."""
    from zmq.utils.monitor import parse_monitor_message

    from autograder.kernel_client import RECONNECT_MS

    async def run() -> tuple[list[int], list[bytes]]:
        place = tmp_path / "kernel"
        client = PromptKernelClient(transport="ipc", ip=str(place), shell_port=1, iopub_port=2, stdin_port=3,
                                    control_port=4, hb_port=5, session=Session())
        shell = client.shell_channel.socket
        monitor = shell.get_monitor_socket(zmq.EVENT_CONNECT_RETRIED)
        delays = []
        for _ in range(3):
            event = parse_monitor_message(await asyncio.wait_for(monitor.recv_multipart(), 10))
            delays.append(int(event["value"]))
        kernel = client.context.socket(zmq.ROUTER)
        kernel.bind(f"ipc://{place}-1")   # the kernel listens at last: the request reaches it
        client.kernel_info()
        received = await asyncio.wait_for(kernel.recv_multipart(), 10)
        shell.disable_monitor()
        for socket in (monitor, kernel):
            socket.close(linger=0)
        client.stop_channels()
        client.context.destroy(linger=0)
        return delays, received

    delays, received = asyncio.run(run())
    assert delays and all(0 < delay < 2 * RECONNECT_MS for delay in delays), delays
    assert b"kernel_info_request" in b"".join(received)
