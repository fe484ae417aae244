"""Structural checks of the Max for Live device (max_patches/), and its JavaScript run under Node.

Max does not run here, so the patch is checked as data: valid JSON in the .maxpat layout, unique box ids, every
patch line between existing boxes and within their inlet/outlet counts (the counts Max itself saves for each stock
object), the required objects present with the daemon's default ports, every routed OSC address one the daemon sends
and every address the script sends one the daemon handles. The script's behaviour is tested by tests/js/ (Node).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_DIR = REPO / "max_patches"
PATCH = MAX_DIR / "arvae-live.maxpat"
DEVICE_JS = MAX_DIR / "arvae-live.js"
PROTOCOL_DOC = Path("/work/shared/design/protocol-v1.md")

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


def _daemon_defaults() -> tuple[int, int]:
    """(daemon port, reply port) as the Python package defines them (protocol v1 doc until the daemon lands)."""
    try:
        from arvae_live import protocol  # the daemon's constants
    except ImportError:
        if not PROTOCOL_DOC.exists():
            pytest.fail("neither arvae_live.protocol nor the protocol v1 design doc is available")
        text = PROTOCOL_DOC.read_text()
        port = int(re.search(r"binds 127\.0\.0\.1:(\d+) by default", text).group(1))
        reply = int(re.search(r"reply port: (\d+) by default", text).group(1))
        return port, reply
    return protocol.DEFAULT_PORT, protocol.DEFAULT_REPLY_PORT


def _protocol_addresses() -> tuple[set[str], set[str]]:
    """(addresses the daemon sends, addresses it handles), from the daemon's table or the protocol v1 doc."""
    try:
        from arvae_live import protocol
    except ImportError:
        text = PROTOCOL_DOC.read_text()
        requests, replies = set(), set()
        for line in text.splitlines():
            cells = line.split("|")
            if len(cells) >= 4 and cells[1].strip().startswith("`/arvae/"):
                requests.update(ADDRESS_RE.findall(cells[1]))
                replies.update(ADDRESS_RE.findall(cells[3]))
        replies.update(ADDRESS_RE.findall(text.split("Result stream", 1)[1].split("\n\n", 1)[0]))
        replies.update({"/arvae/error", "/arvae/warning"})
        return replies, requests
    return set(protocol.SENT_ADDRESSES), set(protocol.HANDLED_ADDRESSES)


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
    port, reply_port = _daemon_defaults()
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
