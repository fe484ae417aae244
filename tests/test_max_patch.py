"""Structural checks of the Max for Live device (max_patches/), and its JavaScript run under Node.

Max does not run here, so the patch is checked as data: valid JSON in the .maxpat layout, unique box ids, every
patch line between existing boxes and within their inlet/outlet counts (the counts Max itself saves for each stock
object), the required objects present with the daemon's default ports, every routed OSC address one the daemon sends
and every address the script sends one the daemon handles. The script's behaviour is tested by tests/js/ (Node).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from arvae_live import protocol  # the daemon's ports and address table

REPO = Path(__file__).resolve().parents[1]
MAX_DIR = REPO / "max_patches"
PATCH = MAX_DIR / "arvae-live.maxpat"
DEVICE_JS = MAX_DIR / "arvae-live.js"

# Inlets/outlets that Max saves for each stock object the device uses, read off patches saved by Max 8/9
# (routepass is special-cased: n selectors give n+1 inlets and n+1 outlets; js takes its counts from the script).
STOCK_COUNTS = {
    "live.thisdevice": (1, 3),
    "udpsend": (1, 0),
    "udpreceive": (1, 1),
    "deferlow": (1, 1),
    "midiin": (1, 1),
    "midiout": (1, 0),
    "print": (1, 0),
    "prepend": (1, 1),
    "live.dial": (1, 2),
    "live.numbox": (1, 2),
    "live.text": (1, 2),
    "live.menu": (1, 3),
    "comment": (1, 0),
}

ADDRESS_RE = re.compile(r"/arvae(?:/[a-z_]+)+")


def _protocol_addresses() -> tuple[set[str], set[str]]:
    """(addresses the daemon sends, addresses it handles), from the daemon's own protocol table."""
    sent = {a for r in protocol.REQUESTS.values() for a in ADDRESS_RE.findall(r.reply)}
    sent |= {address for address, _ in protocol.STREAM_MESSAGES}
    return sent, set(protocol.REQUESTS)


@pytest.fixture(scope="module")
def patcher() -> dict:
    data = json.loads(PATCH.read_text())
    assert list(data) == ["patcher"]
    return data["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher: dict) -> dict[str, dict]:
    out = {}
    for entry in patcher["boxes"]:
        box = entry["box"]
        assert box["id"] not in out, f"duplicate box id {box['id']}"
        out[box["id"]] = box
    return out


def _by_text(boxes: dict[str, dict], prefix: str) -> list[dict]:
    return [b for b in boxes.values() if b["maxclass"] == "newobj" and b["text"].split()[0] == prefix]


def _js_declared(name: str) -> int:
    return int(re.search(rf"^{name} = (\d+);", DEVICE_JS.read_text(), re.M).group(1))


def test_patch_is_a_max8_patcher(patcher: dict) -> None:
    assert patcher["fileversion"] == 1
    assert patcher["appversion"]["major"] >= 8
    assert patcher["classnamespace"] == "box"
    assert isinstance(patcher["boxes"], list) and isinstance(patcher["lines"], list)
    assert patcher["openinpresentation"] == 1


def test_boxes_are_well_formed(boxes: dict[str, dict]) -> None:
    for box_id, box in boxes.items():
        assert re.fullmatch(r"obj-\d+", box_id)
        assert isinstance(box["numinlets"], int) and isinstance(box["numoutlets"], int)
        assert len(box["patching_rect"]) == 4
        assert len(box.get("outlettype", [])) == box["numoutlets"]
        if box["maxclass"] == "newobj":
            assert box["text"].strip()
        assert "patcher" not in box, "the device has no subpatchers; recurse here if one is added"


def test_inlet_outlet_counts_are_those_max_saves(boxes: dict[str, dict]) -> None:
    for box in boxes.values():
        name = box["text"].split()[0] if box["maxclass"] == "newobj" else box["maxclass"]
        if name == "routepass":
            n = len(box["text"].split()) - 1
            expected = (n + 1, n + 1)
        elif name == "js":
            expected = (_js_declared("inlets"), _js_declared("outlets"))
        else:
            assert name in STOCK_COUNTS, f"{name} is not one of the stock objects this device is allowed to use"
            expected = STOCK_COUNTS[name]
        assert (box["numinlets"], box["numoutlets"]) == expected, box["id"] + " " + name


def test_every_line_connects_existing_boxes_within_their_counts(patcher: dict, boxes: dict[str, dict]) -> None:
    assert patcher["lines"]
    seen = set()
    for entry in patcher["lines"]:
        line = entry["patchline"]
        (src, outlet), (dst, inlet) = line["source"], line["destination"]
        assert src in boxes and dst in boxes, line
        assert 0 <= outlet < boxes[src]["numoutlets"], line
        assert 0 <= inlet < boxes[dst]["numinlets"], line
        assert (src, outlet, dst, inlet) not in seen, f"duplicate line {line}"
        seen.add((src, outlet, dst, inlet))


def test_required_objects_use_the_daemon_default_ports(patcher: dict, boxes: dict[str, dict]) -> None:
    port, reply_port = protocol.DEFAULT_PORT, protocol.DEFAULT_REPLY_PORT
    assert [b["text"] for b in _by_text(boxes, "udpsend")] == [f"udpsend 127.0.0.1 {port}"]
    assert [b["text"] for b in _by_text(boxes, "udpreceive")] == [f"udpreceive {reply_port}"]
    (js,) = _by_text(boxes, "js")
    js_file, js_reply_port = js["text"].split()[1:]
    assert (MAX_DIR / js_file).is_file()
    assert int(js_reply_port) == reply_port, "the script announces this port in /arvae/hello"
    assert len(_by_text(boxes, "live.thisdevice")) == 1
    links = {(e["patchline"]["source"][0], e["patchline"]["destination"][0]) for e in patcher["lines"]}
    (midiin,), (midiout,) = _by_text(boxes, "midiin"), _by_text(boxes, "midiout")
    assert (midiin["id"], midiout["id"]) in links, "MIDI passes through the device"
    (udpsend,), (device,) = _by_text(boxes, "udpsend"), _by_text(boxes, "live.thisdevice")
    assert (js["id"], udpsend["id"]) in links and (device["id"], js["id"]) in links


def test_replies_reach_the_script_only_through_routepass_on_daemon_addresses(
    patcher: dict, boxes: dict[str, dict]
) -> None:
    sent_by_daemon, _ = _protocol_addresses()
    (route,) = _by_text(boxes, "routepass")
    routed = route["text"].split()[1:]
    assert len(set(routed)) == len(routed)
    assert set(routed) <= sent_by_daemon, set(routed) - sent_by_daemon
    # The script has a handler for exactly the routed addresses.
    handlers = set(re.findall(r'^\s+"(/arvae/[a-z/_]+)": on\w+,?$', DEVICE_JS.read_text(), re.M))
    assert handlers == set(routed)
    # udpreceive -> deferlow -> routepass; every routed outlet goes to the js, the reject outlet elsewhere.
    (js,) = _by_text(boxes, "js")
    out_of_route = {
        e["patchline"]["source"][1]: e["patchline"]["destination"][0]
        for e in patcher["lines"]
        if e["patchline"]["source"][0] == route["id"]
    }
    assert all(out_of_route[i] == js["id"] for i in range(len(routed)))
    assert out_of_route[len(routed)] != js["id"]


def test_every_address_the_script_sends_is_one_the_daemon_handles() -> None:
    _, handled = _protocol_addresses()
    sent = set(re.findall(r'\["(/arvae/[a-z/_]+)"', DEVICE_JS.read_text()))  # every message is an array
    sent |= {f"/arvae/{kind}/list" for kind in ("models", "attrs")}  # built as "/arvae/" + kind + "/list"
    assert {
        "/arvae/hello",
        "/arvae/ping",
        "/arvae/clip/begin",
        "/arvae/clip/note",
        "/arvae/clip/end",
        "/arvae/regen",
    } <= sent
    assert sent <= handled, sent - handled


def test_parameters_are_unique_and_dials_span_0_to_1(patcher: dict, boxes: dict[str, dict]) -> None:
    longnames = {}
    for box in boxes.values():
        if box.get("parameter_enable") == 1:
            v = box["saved_attribute_attributes"]["valueof"]
            assert v["parameter_longname"] not in longnames.values()
            longnames[box["id"]] = v["parameter_longname"]
            assert patcher["parameters"][box["id"]][0] == v["parameter_longname"]
    assert set(patcher["parameters"]) == set(longnames)
    dials = [b for b in boxes.values() if b["maxclass"] == "live.dial"]
    max_dials = int(re.search(r"^var MAX_DIALS = (\d+);", DEVICE_JS.read_text(), re.M).group(1))
    assert len(dials) == max_dials
    for dial in dials:
        v = dial["saved_attribute_attributes"]["valueof"]
        assert (v["parameter_type"], v["parameter_mmin"], v["parameter_mmax"]) == (0, 0.0, 1.0)
    assert {b["varname"] for b in dials} == {f"attr_dial_{i}" for i in range(max_dials)}


def test_committed_patch_is_what_the_generator_writes() -> None:
    res = subprocess.run([sys.executable, str(MAX_DIR / "build_patch.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_script_passes_node_check_and_the_node_tests() -> None:
    subprocess.run(["node", "--check", str(DEVICE_JS)], check=True)
    res = subprocess.run(["node", "--test", "tests/js/"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


# ---- end to end: the script under Node against the real daemon over UDP on 127.0.0.1 ----------------------------


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_harness(daemon_port: int, reply_port: int, scenario: str) -> dict:
    res = subprocess.run(
        ["node", "tests/js/e2e_harness.js", str(daemon_port), str(reply_port), scenario],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@pytest.fixture
def daemon(tiny_ckpt):
    """`arvae-live serve` on free ports with the tiny test checkpoint; yields (port, reply_port)."""
    port, reply_port = _free_udp_port(), _free_udp_port()
    cmd = [sys.executable, "-m", "arvae_live", "serve", "--model", str(tiny_ckpt), "--port", str(port),
           "--reply-port", str(reply_port), "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "listening on" in line:
            break
    else:
        proc.wait(timeout=10)
        pytest.fail("the daemon did not start:\n" + "".join(seen))
    try:
        yield port, reply_port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _fmt2(x: float) -> str:
    """x with 2 decimals, halves rounded up as the script's Math.round does (Python's round is half-even)."""
    return f"{math.floor(x * 100 + 0.5) / 100:.2f}"


def _decode(received_hex: list[str]) -> list[tuple[str, list]]:
    from pythonosc.osc_message import OscMessage

    out = []
    for h in received_hex:
        msg = OscMessage(bytes.fromhex(h))
        out.append((msg.address, list(msg.params)))
    return out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_device_script_regenerates_a_clip_through_the_real_daemon(daemon) -> None:
    from arvae_live.core.attributes import PAPER_ATTRIBUTES

    out = _run_harness(*daemon, "regen")
    assert out["error"] is None, out["status_msg"]
    assert out["status_msg"].startswith("Wrote 2 variation(s) into slot(s) 2, 3 of track 1"), out["status_msg"]
    assert "Note: bar 2: 1 off-grid note(s) snapped" in out["status_msg"]  # the daemon's /arvae/warning, shown
    assert out["attr_labels"][:4] == list(PAPER_ATTRIBUTES)  # the dials come from the checkpoint's attributes
    assert out["misses"] == []

    (regen_req,) = [m for m in out["sent"] if m[0] == "/arvae/regen"]
    rid = regen_req[1]
    # slot 0, 2 variations, temperature 0.5, seed 11, from bar 0, 2 bars, the one dial that was moved
    assert regen_req[2:] == [0, 2, 0.5, 11, 0, 2, "note_density", 0.9]

    # The daemon's result, decoded here with python-osc from the raw datagrams the harness received.
    results: dict[int, dict] = {}
    final = None
    for address, args in _decode(out["received"]):
        if not args or args[0] != rid:
            continue
        if address == "/arvae/result/begin":
            results[args[1]] = {"n": args[2], "length": args[3], "notes": {}, "asked": {}, "achieved": {}}
        elif address == "/arvae/result/note":
            results[args[1]]["notes"][args[2]] = args[3:7]
        elif address == "/arvae/result/asked":
            results[args[1]]["asked"] = dict(zip(args[2::2], args[3::2]))
        elif address == "/arvae/result/end":
            results[args[1]]["achieved"] = dict(zip(args[3::2], args[4::2]))
        elif address == "/arvae/regen":
            final = args
    assert final is not None and final[1] == 2
    assert sorted(results) == [0, 1]

    clips = out["clips"]
    assert clips[0]["notes"][0] == [60, 0, 1, 96], "the source clip is untouched"
    for v in (0, 1):
        res = results[v]
        expected = [res["notes"][i] for i in range(res["n"])]
        assert res["n"] > 0
        written = clips[1 + v]
        assert written["notes"] == expected, f"variation {v}"
        assert written["length"] == res["length"]
        assert written["name"] == f"theme arvae {v + 1}/2"
    assert clips[3] is None
    assert out["undo_steps"] == 2 and all(c["depth"] == 1 for c in out["changes"])

    # Under the moved dial: asked / achieved; under a free one: the value kept from the clip / achieved.
    def mean(field: str, name: str) -> str:
        return _fmt2((results[0][field][name] + results[1][field][name]) / 2)

    assert out["attr_results"][2] == f"asked 0.90, got {mean('achieved', 'note_density')}"
    assert out["attr_results"][0] == (
        f"clip {mean('asked', 'rhythmic_complexity')}, got {mean('achieved', 'rhythmic_complexity')}"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_device_script_with_no_daemon_says_so_and_changes_nothing() -> None:
    out = _run_harness(_free_udp_port(), _free_udp_port(), "offline")
    assert out["status_msg"].startswith("Daemon offline: nothing answers on 127.0.0.1:9127")
    assert "arvae-live serve" in out["status_msg"]
    assert out["changes"] == [] and out["received"] == []
    assert [m for m in out["sent"] if m[0].startswith("/arvae/clip/")] == []
