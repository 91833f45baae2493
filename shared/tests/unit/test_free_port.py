"""Test systems' listening ports: free, distinct, and out of the way of outgoing connections."""

from __future__ import annotations

import socket

from shared.testing.infra import _bindable, _ephemeral_range, free_port


def test_ports_are_below_the_range_outgoing_connections_take_their_local_ports_from() -> None:
    low, _ = _ephemeral_range()
    if low < 11_000:
        return  # a kernel whose range starts this low leaves no room: the kernel chooses
    ports = [free_port() for _ in range(50)]
    assert all(10_000 <= port < low for port in ports)


def test_no_port_is_handed_out_twice_and_each_can_be_listened_on() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
            sock.listen()


def test_a_port_something_listens_on_is_not_free() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not _bindable(listener.getsockname()[1])
    assert _bindable(free_port())
