"""Hostile input against the daemon on real loopback sockets (issue #12 items 2-4, #15.8, #16.4).

Lying bundle sizes, deep nesting, huge tag lists, unsupported tags; reflection (reply bytes of a client that has not
verified its reply port); fairness (a flooding client neither evicts nor starves another; round-robin order); resend
and the pacing of long result streams. The model is the suite's tiny one (tests/conftest.py).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import pytest

from arvae_live.client import DaemonClient, DaemonError, Reply
from arvae_live.core.representation import Note
from arvae_live.daemon import Daemon
from arvae_live.osc_wire import MalformedDatagram, decode_message, encode_message, parse_datagram
from arvae_live.protocol import (
    MAX_ARGS_IN,
    MAX_BUNDLE_DEPTH,
    MAX_MESSAGES_IN,
    MAX_QUEUE_PER_CLIENT,
    PACE_BURST,
    PACE_PER_MS,
    PROTOCOL_VERSION,
    RESULTS_KEPT,
    UNVERIFIED_REPLY_FACTOR,
)
from arvae_live.scheduling import Job

CLIP = [Note(60 + 2 * k, float(k), 1.0, 90) for k in range(8)]  # two bars of quarters


def _socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)  # nothing a test counts is lost in the kernel
    s.bind(("127.0.0.1", 0))
    return s


def _drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on sock (loopback delivers at send time, so after _settle they are all there)."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(65535))
    except BlockingIOError:
        return out
    finally:
        sock.setblocking(True)


def _settle(daemon: Daemon, n_datagrams: int) -> None:
    """Wait until the daemon has read n_datagrams in all and has nothing queued, running or waiting to be sent."""
    deadline = time.monotonic() + 60
    while not (daemon.stats.get("datagrams") >= n_datagrams and daemon.idle()):
        assert time.monotonic() < deadline, "the daemon did not settle"
        time.sleep(0.005)


def _bundle(*elements: bytes, timetag: bytes = b"\0" * 7 + b"\1") -> bytes:
    return b"#bundle\0" + timetag + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def _padded(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def _message(address: str, *tagged: tuple[str, object]) -> bytes:
    """A message with any OSC 1.0/1.1 type tags, written out by hand (python-osc's builder knows neither S nor c)."""
    body = b""
    for tag, value in tagged:
        if tag in "sS":
            body += _padded(value.encode())
        elif tag in "ic":
            body += struct.pack(">i", value if tag == "i" else ord(value))
        elif tag in "hd":
            body += struct.pack(">q" if tag == "h" else ">d", value)
        elif tag == "b":
            body += struct.pack(">i", len(value)) + value + b"\0" * (-len(value) % 4)
    tags = "," + "".join(t for t, _ in tagged)
    return _padded(address.encode()) + _padded(tags.encode()) + body


PING = encode_message("/arvae/ping", 77)


# ---- the parser -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, match",
    [
        (_bundle(PING)[:16] + struct.pack(">i", -4) + PING, "size -4"),
        (_bundle(PING)[:16] + struct.pack(">i", 0) + PING, "size 0"),
        (_bundle(PING)[:16] + struct.pack(">i", len(PING) + 4) + PING, "inside"),
        (_bundle(PING)[:16] + struct.pack(">i", 6) + PING[:6] + b"\0\0", "size 6"),
        (_bundle(PING)[:20], "inside"),
        (_bundle(PING)[:18] + b"\0\0", "size 0"),
        (b"#bundle\0\0\0\0\0", "header"),
        (b"arvae/ping\0\0,i\0\0\0\0\0\1", "neither"),
        (b"/arvae/ping\0,i\0\0", "past the message end"),
        (b"/arvae/ping\0,i\0\0\0\0\0\1\0\0\0\0", "after the last argument"),
        (b"/arvae/ping", "multiple of 4"),
        (b"", "multiple of 4"),
        (b"/\xff\xfe\0", "UTF-8"),
    ],
)
def test_parser_refuses_lying_structure(data, match):
    with pytest.raises(MalformedDatagram, match=match):
        parse_datagram(data)


def test_parser_bounds_nesting_and_messages_and_keeps_arrival_order():
    nested = PING
    for _ in range(MAX_BUNDLE_DEPTH):
        nested = _bundle(nested)
    assert parse_datagram(nested)[0].args == (77,)
    with pytest.raises(MalformedDatagram, match="nested"):
        parse_datagram(_bundle(nested))
    pings = [encode_message("/arvae/ping", rid) for rid in range(1, MAX_MESSAGES_IN + 1)]
    assert [m.args[0] for m in parse_datagram(_bundle(*pings))] == list(range(1, MAX_MESSAGES_IN + 1))
    with pytest.raises(MalformedDatagram, match="more than"):
        parse_datagram(_bundle(*pings, PING))
    # Arrival order, whatever the time tags: an inner bundle timed later comes first, as it was sent.
    later = _bundle(encode_message("/arvae/ping", 1), timetag=b"\x7f" + b"\0" * 7)
    assert [m.args[0] for m in parse_datagram(_bundle(later, encode_message("/arvae/ping", 2)))] == [1, 2]


def test_parser_names_unsupported_tags_and_keeps_the_rid():
    for tag, value in (("S", "sym"), ("c", "x"), ("h", 2**40), ("d", 2.5), ("b", b"zz"), ("T", True)):
        (msg,) = parse_datagram(_message("/arvae/regen", ("i", 5), ("i", 0), (tag, value)))
        assert msg.args == (5,) and f"argument 2 has type tag '{tag}'" in msg.problem
    (msg,) = parse_datagram(b"/arvae/ping\0,i" + b"I" * 70000 + b"\0" * 2 + b"\0\0\0\5")
    assert msg.args == (5,) and f"70001 arguments, more than {MAX_ARGS_IN}" in msg.problem
    with pytest.raises(ValueError, match="type tag 'S'"):
        decode_message(_message("/x", ("S", "sym")))


# ---- hostile datagrams on the wire --------------------------------------------------------------------------------


def test_lying_bundles_and_deep_nesting_are_dropped_and_the_daemon_answers(daemon, client, caplog):
    caplog.set_level(logging.DEBUG, logger="arvae_live")
    head = _bundle(PING)[:16]
    hostile = [
        head + struct.pack(">i", -4) + PING,  # the size that looped python-osc forever
        head + struct.pack(">i", 0) + PING,
        head + struct.pack(">i", 4096) + PING,
        head + struct.pack(">i", 5) + PING,
    ]
    nested = PING
    for _ in range(MAX_BUNDLE_DEPTH + 1):
        nested = _bundle(nested)
    hostile.append(nested)
    for _ in range(40):
        for data in hostile:
            client.send_raw(data)
    assert client.request("/arvae/ping")[0].address == "/arvae/ping"
    assert daemon.stats.get("bad_datagrams") == 40 * len(hostile)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "malformed datagram" in warnings[0].getMessage()  # one summary per 10 s
    assert sum(r.levelno == logging.DEBUG and "malformed" in r.getMessage() for r in caplog.records) == 200


def test_unsupported_tags_and_huge_tag_lists_are_answered_bad_args(client):
    for tag, value in (("S", "note_density"), ("c", "x"), ("h", 7), ("d", 0.5), ("b", b"\1\2")):
        rid = client.next_rid()
        client.send_raw(_message("/arvae/regen", ("i", rid), ("i", 0), (tag, value)))
        with pytest.raises(DaemonError, match=f"type tag '{tag}'") as info:
            client.collect(rid, "/arvae/regen")
        assert info.value.code == "bad_args"
    rid = client.next_rid()
    client.send_raw(b"/arvae/ping\0,i" + b"I" * 65000 + b"\0" * 2 + struct.pack(">i", rid))
    with pytest.raises(DaemonError, match="65001 arguments") as info:
        client.collect(rid, "/arvae/ping")
    assert info.value.code == "bad_args"


def test_bundle_messages_run_in_arrival_order(client):
    notes = [encode_message("/arvae/clip/note", 0, 3, i, n.pitch, n.start_beats, n.dur_beats, 90)
             for i, n in enumerate(CLIP[:4])]  # fmt: skip
    rid = client.next_rid()
    timed_late = _bundle(encode_message("/arvae/clip/begin", 0, 3, 4, 4.0), timetag=b"\x7f" + b"\0" * 7)
    client.send_raw(_bundle(timed_late, *notes, encode_message("/arvae/clip/end", rid, 3, 4)))
    assert client.collect(rid, "/arvae/clip/end")[0].args[1:] == (3, 4)


def test_upload_from_another_source_port_is_refused_with_the_reason(daemon, client):
    client.send("/arvae/clip/begin", 0, 0, 1, 4.0)
    with DaemonClient(daemon.port) as other:
        with pytest.raises(DaemonError, match="IP and source port") as info:
            other.request("/arvae/clip/end", 0, 1)
    assert info.value.code == "no_clip"


# ---- reflection ----------------------------------------------------------------------------------------------------


def test_unverified_replies_are_bounded_by_ten_times_the_request_bytes(daemon, sink):
    victim = _socket()  # the port a hostile hello aims replies at
    attacker = _socket()
    sent = 0

    def send(data: bytes) -> None:
        nonlocal sent
        attacker.sendto(data, ("127.0.0.1", daemon.port))
        sent += len(data)

    try:
        send(encode_message("/arvae/hello", 1, "x", victim.getsockname()[1], PROTOCOL_VERSION))
        for rid in range(2, 12):
            send(encode_message("/arvae/sample", rid, 16, 1.0, rid, 64))  # 44 bytes asking for megabytes
        send(_bundle(*[encode_message("/arvae/sample", 100 + k, 16, 1.0, k, 64) for k in range(MAX_MESSAGES_IN)]))
        send(_bundle(*[encode_message("/arvae/models/list", 200 + k) for k in range(MAX_MESSAGES_IN)]))
        send(_bundle(*[_message("/arvae/regen", ("i", 300 + k), ("S", "x")) for k in range(MAX_MESSAGES_IN)]))
        _settle(daemon, 1 + 10 + 3)
        got = _drain(victim) + _drain(sink)
        assert 0 < sum(map(len, got)) <= UNVERIFIED_REPLY_FACTOR * sent
        hello = decode_message(got[0])
        assert hello[0] == "/arvae/hello" and hello[1][4] > 0  # the nonce went to the registered port only
        replies = [decode_message(d) for d in got[1:]]
        assert ("/arvae/error", "unverified") in {(address, args[1]) for address, args in replies}
        assert not [address for address, _ in replies if address.startswith("/arvae/result/")]
        # A new client's 4-byte datagram cannot even pay for the refusal: nothing is sent, the drop is counted.
        victim.sendto(b"/\0\0\0", ("127.0.0.1", daemon.port))
        _settle(daemon, 1 + 10 + 3 + 1)
        assert daemon.stats.get("dropped_replies") == 1 and not _drain(sink)
    finally:
        victim.close()
        attacker.close()


def test_verify_unlocks_full_replies_and_a_wrong_nonce_does_not(daemon, sink):
    with DaemonClient(daemon.port, hello=False) as c:
        c.send("/arvae/verify", 5, 12345)  # no registration: the error goes to the default reply port
        _settle(daemon, 1)
        (error,) = [decode_message(d) for d in _drain(sink)]
        assert error[1][:2] == [5, "unverified"] and "send /arvae/hello first" in error[1][2]
        nonce = c.request("/arvae/hello", "t", c.reply_port, PROTOCOL_VERSION)[0].args[4]
        c.upload(CLIP, 8.0)  # uploads answer little: fine unverified
        with pytest.raises(DaemonError, match="/arvae/verify") as info:
            c.request("/arvae/sample", 4, 1.0, 0, 8, final="/arvae/sample")  # a few KB for a 44-byte request
        assert info.value.code == "unverified"
        with pytest.raises(DaemonError, match="nonce differs"):
            c.request("/arvae/verify", nonce % (2**31 - 1) + 1)
        assert c.request("/arvae/verify", nonce)[0].args[1] == 1
        replies = c.request("/arvae/sample", 4, 1.0, 0, 8, final="/arvae/sample")
        size = sum(len(encode_message(r.address, *r.args)) for r in replies)
        assert size > UNVERIFIED_REPLY_FACTOR * len(encode_message("/arvae/sample", 1, 4, 1.0, 0, 8))


# ---- fair sharing ---------------------------------------------------------------------------------------------------


def _hold_engine(daemon: Daemon, second: bool = True) -> threading.Event:
    """Occupy the engine thread (and the second one) until the returned event is set; returns once they are."""
    gate = threading.Event()
    for small in (False, True)[: 1 + second]:
        daemon.submit(
            Job(("hold", small), 0, "/test/hold", lambda _lm: gate.wait(30), time.perf_counter(), None, small)
        )
        while daemon.queue_size():
            time.sleep(0.002)
    return gate


def _register(sock: socket.socket, daemon_port: int, reply: socket.socket) -> None:
    """hello + verify from sock, replies to reply (read there)."""
    sock.sendto(
        encode_message("/arvae/hello", 1, "t", reply.getsockname()[1], PROTOCOL_VERSION), ("127.0.0.1", daemon_port)
    )
    reply.settimeout(10)
    nonce = decode_message(reply.recv(65535))[1][4]
    sock.sendto(encode_message("/arvae/verify", 2, nonce), ("127.0.0.1", daemon_port))
    assert decode_message(reply.recv(65535))[0] == "/arvae/verify"


def test_engine_serves_clients_round_robin(daemon):
    reply = _socket()
    a, b = _socket(), _socket()
    try:
        _register(a, daemon.port, reply)
        _register(b, daemon.port, reply)
        gate = _hold_engine(daemon)
        for rid in (11, 12, 13, 14):
            a.sendto(encode_message("/arvae/attrs/list", rid), ("127.0.0.1", daemon.port))
        for rid in (21, 22):
            b.sendto(encode_message("/arvae/attrs/list", rid), ("127.0.0.1", daemon.port))
        while daemon.queue_size() < 6:
            time.sleep(0.002)
        gate.set()
        order = []
        while len(order) < 6:
            address, args = decode_message(reply.recv(65535))
            if address == "/arvae/attrs/end":
                order.append(args[0])
        assert order == [11, 21, 12, 22, 13, 14]
    finally:
        for s in (reply, a, b):
            s.close()


def test_a_flooding_client_gets_busy_and_the_other_is_still_served(daemon, client):
    client.upload(CLIP, 8.0)
    with DaemonClient(daemon.port, timeout_sec=20) as flooder:
        gate = _hold_engine(daemon)
        rids = [flooder.next_rid() for _ in range(3 * MAX_QUEUE_PER_CLIENT)]
        for rid in rids:  # engine requests that never coalesce
            flooder.send("/arvae/attrs/list", rid)
        for rid in rids[MAX_QUEUE_PER_CLIENT:]:
            with pytest.raises(DaemonError, match="of this client already queued") as info:
                flooder.collect(rid, "/arvae/attrs/end")
            assert info.value.code == "busy"
        mine = client.next_rid()
        client.send("/arvae/regen", mine, 0, 1, 0.0, 0, 0, 0)
        gate.set()
        assert client.collect(mine, "/arvae/regen")[-1].address == "/arvae/regen"  # not busy, not evicted
        for rid in rids[:MAX_QUEUE_PER_CLIENT]:
            assert flooder.collect(rid, "/arvae/attrs/end")


def test_small_requests_are_not_held_up_by_a_long_one(daemon, client):
    client.upload(CLIP, 8.0)
    gate = _hold_engine(daemon, second=False)  # the engine thread busy with a long job of another client
    with DaemonClient(daemon.port) as other:
        try:
            waiting = other.next_rid()
            other.send("/arvae/attrs/list", waiting)  # not small work: it waits for the engine thread
            assert client.regen(variations=4)[-1].address == "/arvae/regen"  # 2 bars x 4: the second thread
            assert daemon.queue_size() == 1
        finally:
            gate.set()
        assert other.collect(waiting, "/arvae/attrs/end")[-1].args[1] == 4


def test_sample_and_interp_coalesce_per_client(daemon, client):
    client.upload(CLIP, 8.0, slot=0)
    client.upload(CLIP[:4], 4.0, slot=1)
    gate = _hold_engine(daemon)
    rids = [client.next_rid() for _ in range(4)]
    client.send("/arvae/sample", rids[0], 1, 1.0, 0, 2)
    client.send("/arvae/sample", rids[1], 1, 1.0, 1, 2)
    client.send("/arvae/interp", rids[2], 0, 1, 2)
    client.send("/arvae/interp", rids[3], 1, 0, 2)
    for rid in rids[::2]:
        with pytest.raises(DaemonError, match="replaced by a newer request"):
            client.collect(rid, "/arvae/x")
    gate.set()
    assert client.collect(rids[1], "/arvae/sample")[-1].address == "/arvae/sample"
    assert client.collect(rids[3], "/arvae/interp")[-1].address == "/arvae/interp"


def test_many_source_ports_do_not_evict_a_verified_client(daemon, client, sink):
    client.upload(CLIP, 8.0)
    daemon.clients.max_clients = 8
    flood = [_socket() for _ in range(3 * daemon.clients.max_clients)]
    try:
        for s in flood:  # each a new client: hello, a one-note upload
            for data in (
                encode_message("/arvae/hello", 0, "f", sink.getsockname()[1], PROTOCOL_VERSION),
                encode_message("/arvae/clip/begin", 0, 0, 1, 4.0),
                encode_message("/arvae/clip/note", 0, 0, 0, 60, 0.0, 1.0, 100),
                encode_message("/arvae/clip/end", 0, 0, 1),
            ):
                s.sendto(data, ("127.0.0.1", daemon.port))
        _settle(daemon, 4 * len(flood))
    finally:
        for s in flood:
            s.close()
    assert len(daemon.clients) == daemon.clients.max_clients
    replies = client.regen(variations=2)  # the clip, the registration and the verification all survived
    assert replies[-1].args[1] == 2


def test_a_full_table_of_verified_clients_refuses_newcomers_not_members(daemon, sink):
    daemon.clients.max_clients = 2
    with DaemonClient(daemon.port) as a, DaemonClient(daemon.port) as b:
        a.upload(CLIP, 8.0)
        with DaemonClient(daemon.port, hello=False) as c:  # its hello would be refused too: replies go to sink
            n_before = daemon.stats.get("datagrams")
            c.send("/arvae/hello", 9, "c", c.reply_port, PROTOCOL_VERSION)
            _settle(daemon, n_before + 1)
            (error,) = [decode_message(d)[1] for d in _drain(sink)]
            assert error[:2] == [9, "busy"] and "maximum of 2 clients" in error[2]
        assert a.regen()[-1].address == "/arvae/regen" and b.request("/arvae/ping")
    state = daemon.clients.get(("127.0.0.1", a.reply_port))
    state.last_seen -= daemon.clients.ttl_sec + 1  # a silent past the registration's lifetime...
    with DaemonClient(daemon.port) as d:  # ...makes room for a newcomer, and its state is gone
        assert d.request("/arvae/ping")
    assert daemon.clients.get(("127.0.0.1", a.reply_port)) is None
    b_state = daemon.clients.get(("127.0.0.1", b.reply_port))
    b_state.last_seen -= daemon.clients.ttl_sec + 1  # the same client back after its state expired: a new one
    assert daemon.clients.touch(("127.0.0.1", b.reply_port), 20) is not b_state


# ---- resend and pacing ---------------------------------------------------------------------------------------------


def _stream(replies: list[Reply], rid: int, v: int) -> list[Reply]:
    return [r for r in replies if r.address.startswith("/arvae/result/") and r.args[:2] == (rid, v)]


def test_resend_repeats_one_variation_and_forgets_old_results(client, monkeypatch):
    client.upload(CLIP, 8.0)
    first = client.regen(variations=2, seed=5)
    rid = first[-1].rid
    again = client.resend(rid, 1)
    assert again == _stream(first, rid, 1) and again[0].address == "/arvae/result/begin"
    with pytest.raises(DaemonError, match="2 variation") as info:
        client.resend(rid, 3)
    assert info.value.code == "no_result"
    with pytest.raises(DaemonError, match="no result 999"):
        client.resend(999, 0)
    for _ in range(RESULTS_KEPT):
        client.regen(seed=6)
    with pytest.raises(DaemonError, match=f"no result {rid}"):  # the fifth result pushed the first out
        client.resend(rid, 0)
    last = client.regen(seed=7)[-1].rid
    monkeypatch.setattr("arvae_live.client_state.RESULT_KEEP_SEC", 0.0)  # kept only so long
    with pytest.raises(DaemonError, match=f"no result {last}"):
        client.resend(last, 0)


def test_long_result_streams_are_paced_and_lost_variations_come_back_by_resend(daemon, client):
    rid = client.next_rid()
    start = time.perf_counter()
    client.send("/arvae/sample", rid, 12, 1.0, 3, 16)
    arrivals: list[float] = []
    replies: list[Reply] = []
    while not replies or replies[-1].address != "/arvae/sample":
        try:
            replies.append(client.receive(2.0))
        except TimeoutError:  # the final reply itself was lost (a busy machine reads slower than the pace)
            break
        arrivals.append(time.perf_counter())
    n = len(replies)
    assert n > PACE_BURST + 1000, f"the test needs a stream well over one burst, got {n}"
    # The daemon stamps latency_ms just before it sends the first datagram, and it received the request after
    # `start`: so nothing was sent before `first`, and by any moment at most the burst plus the pace can have been.
    first = start + (replies[-1].args[2] / 1e3 if replies[-1].address == "/arvae/sample" else 0.0)
    for k, t in enumerate(arrivals):
        assert k + 1 <= PACE_BURST + PACE_PER_MS * (t - first) * 1e3 + 1, f"datagram {k} of {n} came too early"
    # Whatever a slow reader lost, /arvae/resend brings back whole.
    for v in range(12):
        stream = _stream(replies, rid, v)
        begin = [r for r in stream if r.address == "/arvae/result/begin"]
        n_notes = sum(r.address == "/arvae/result/note" for r in stream)
        complete = begin and stream[-1].address == "/arvae/result/end" and n_notes == begin[0].args[2]
        if not complete:
            stream = client.resend(rid, v)
        notes = [r for r in stream if r.address == "/arvae/result/note"]
        assert stream[0].address == "/arvae/result/begin" and len(notes) == stream[0].args[2] > 0
        assert [r.args[2] for r in notes] == list(range(len(notes)))
