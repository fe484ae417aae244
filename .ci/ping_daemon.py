"""Wait until a daemon answers /arvae/ping on 127.0.0.1:PORT (replies to REPLY_PORT); stdlib only.

Usage: python .ci/ping_daemon.py [--port 9127] [--reply-port 9128] [--timeout 1200] [--pid PID]
Exits 0 with the round trip once a reply comes, 1 on time-out or when process PID (the command that starts the
daemon) has ended first. Used by .ci/run after starting the README's daemon command.
"""

import argparse
import os
import socket
import struct
import sys
import time


def osc_string(s: str) -> bytes:
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def ping_message(rid: int) -> bytes:
    return osc_string("/arvae/ping") + osc_string(",i") + struct.pack(">i", rid)


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9127)
    ap.add_argument("--reply-port", type=int, default=9128)
    ap.add_argument("--timeout", type=float, default=1200.0)
    ap.add_argument("--pid", type=int, default=None)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.reply_port))
    sock.settimeout(1.0)
    deadline = time.monotonic() + args.timeout
    rid = 0
    while time.monotonic() < deadline:
        if not alive(args.pid):
            print("ping_daemon: the daemon command ended before answering a ping", file=sys.stderr)
            return 1
        rid += 1
        t0 = time.perf_counter()
        sock.sendto(ping_message(rid), ("127.0.0.1", args.port))
        try:
            data, _ = sock.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            continue
        if data.startswith(osc_string("/arvae/ping")):
            print(f"ping_daemon: /arvae/ping answered in {1000 * (time.perf_counter() - t0):.1f} ms")
            return 0
    print(f"ping_daemon: no answer to /arvae/ping within {args.timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
