"""Structural checks of the Max for Live device (max_patches/), and its JavaScript run under Node.

Max does not run here, so the patch is checked as data: valid JSON in the .maxpat layout, the .amxd container read
back and compared with it, unique box ids, every patch line between existing boxes and within their inlet/outlet
counts (the counts Max itself saves for each stock object), the required objects present with the daemon's default
ports, every routed OSC address one the daemon sends and every address the script sends one the daemon handles, and
the script's limits and error words against arvae_live/protocol.py. The script's behaviour is tested by tests/js/
(Node), and here against a real daemon over UDP.
"""

from __future__ import annotations

import importlib.util
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
AMXD = MAX_DIR / "arvae-live.amxd"


def _load_build_patch():
    spec = importlib.util.spec_from_file_location("build_patch", MAX_DIR / "build_patch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_patch = _load_build_patch()

# This wave's protocol additions (docs/protocol.md once the daemon branch lands): the device codes against them
# already. Kept here, in one place, so the lead can drop what protocol.py then holds.
CONTRACT_REQUESTS = {"/arvae/verify", "/arvae/resend"}
CONTRACT_ERROR_CODES = {"unverified", "no_result"}

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
    "pattr": (1, 3),
}

ADDRESS_RE = re.compile(r"/arvae(?:/[a-z_]+)+")


def _protocol_addresses() -> tuple[set[str], set[str]]:
    """(addresses the daemon sends, addresses it handles), from the daemon's own protocol table and this wave's
    contract."""
    sent = {a for r in protocol.REQUESTS.values() for a in ADDRESS_RE.findall(r.reply)}
    sent |= {address for address, _ in protocol.STREAM_MESSAGES}
    return sent | CONTRACT_REQUESTS, set(protocol.REQUESTS) | CONTRACT_REQUESTS


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
    sends = {b.get("varname"): b["text"] for b in _by_text(boxes, "udpsend")}
    # to the daemon, and the probe a device sends to its own reply port to prove it holds it
    assert sends == {None: f"udpsend 127.0.0.1 {port}", "probe_out": f"udpsend 127.0.0.1 {reply_port}"}
    assert [(b["text"], b["varname"]) for b in _by_text(boxes, "udpreceive")] == [
        (f"udpreceive {reply_port}", "reply_in")
    ]
    (js,) = _by_text(boxes, "js")
    js_file, js_reply_port = js["text"].split()[1:]
    assert (MAX_DIR / js_file).is_file()
    assert int(js_reply_port) == reply_port, "the script announces this port in /arvae/hello"
    assert len(_by_text(boxes, "live.thisdevice")) == 1
    links = {(e["patchline"]["source"][0], e["patchline"]["destination"][0]) for e in patcher["lines"]}
    (midiin,), (midiout,) = _by_text(boxes, "midiin"), _by_text(boxes, "midiout")
    assert (midiin["id"], midiout["id"]) in links, "MIDI passes through the device"
    (udpsend,) = [b for b in _by_text(boxes, "udpsend") if "varname" not in b]
    (device,) = _by_text(boxes, "live.thisdevice")
    assert (js["id"], udpsend["id"]) in links and (device["id"], js["id"]) in links


def test_replies_reach_the_script_only_through_routepass_on_daemon_addresses(
    patcher: dict, boxes: dict[str, dict]
) -> None:
    sent_by_daemon, _ = _protocol_addresses()
    (route,) = _by_text(boxes, "routepass")
    routed = route["text"].split()[1:]
    assert len(set(routed)) == len(routed)
    assert set(routed) <= sent_by_daemon | {build_patch.PROBE_ADDRESS}, set(routed) - sent_by_daemon
    assert build_patch.PROBE_ADDRESS not in sent_by_daemon
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


def test_dial_parameters_are_named_after_attributes(boxes: dict[str, dict]) -> None:
    """Automation lanes read the attribute names: saved names from the bundled models, the script's list the same."""
    from arvae_live.core.attributes import PAPER_ATTRIBUTES

    names = [
        b["saved_attribute_attributes"]["valueof"]["parameter_longname"]
        for b in sorted(
            (b for b in boxes.values() if b["maxclass"] == "live.dial"), key=lambda b: int(b["varname"].split("_")[-1])
        )
    ]
    assert names[: len(PAPER_ATTRIBUTES)] == list(PAPER_ATTRIBUTES)
    js_names = re.search(r"var DIAL_PARAMETER_NAMES = \[(.*?)\];", DEVICE_JS.read_text(), re.S).group(1)
    assert re.findall(r'"([^"]+)"', js_names) == names == list(build_patch.DIAL_NAMES)
    labels = {b["varname"]: b for b in boxes.values() if b.get("varname", "").startswith("attr_label_")}
    for i, name in enumerate(PAPER_ATTRIBUTES):  # wide enough for the full name at 9 pt (about 5.5 px a character)
        assert labels[f"attr_label_{i}"]["presentation_rect"][2] >= 5.5 * len(name)


def test_the_key_menu_offers_the_scripts_choices(boxes: dict[str, dict]) -> None:
    (menu,) = [b for b in boxes.values() if b.get("varname") == "key_menu"]
    assert menu["maxclass"] == "live.menu" and menu.get("presentation") == 1
    assert menu["saved_attribute_attributes"]["valueof"]["parameter_enum"] == list(build_patch.KEY_NAMES)
    choices = re.search(r"^var KEY_CHOICES = \[(.*?)\];", DEVICE_JS.read_text(), re.M).group(1)
    assert re.findall(r'"(\w+)"', choices) == ["auto", "off", "live"]  # in the menu's order; live is sent as "set"
    assert {"auto", "off", "set"} == set(protocol.SCALE_MODES)


LIVE_DEVICE_HEIGHT = 169.0  # the height of every device in Live's device view, in pixels


def test_the_panel_fits_the_device_and_nothing_covers_anything(patcher: dict) -> None:
    shown = [b["box"] for b in patcher["boxes"] if b["box"].get("presentation") == 1]
    assert len(shown) > 30
    for box in shown:
        x, y, w, h = box["presentation_rect"]
        assert x >= 0 and y >= 0 and x + w <= patcher["devicewidth"] and y + h <= LIVE_DEVICE_HEIGHT, box["id"]
    for i, a in enumerate(shown):
        ax, ay, aw, ah = a["presentation_rect"]
        for b in shown[i + 1 :]:
            bx, by, bw, bh = b["presentation_rect"]
            overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
            assert not overlap, (a.get("varname", a.get("text")), b.get("varname", b.get("text")))


def test_the_device_saves_its_state_in_the_set(patcher: dict, boxes: dict[str, dict]) -> None:
    (store,) = _by_text(boxes, "pattr")
    assert store["varname"] == "state_store"
    v = store["saved_attribute_attributes"]["valueof"]
    assert (v["parameter_type"], v["parameter_invisible"]) == (3, 1)  # a blob, stored only (no automation lane)
    (js,) = _by_text(boxes, "js")
    (restore,) = [b for b in _by_text(boxes, "prepend") if b["text"] == "prepend restore"]
    links = {(e["patchline"]["source"][0], e["patchline"]["destination"][0]) for e in patcher["lines"]}
    assert (store["id"], restore["id"]) in links and (restore["id"], js["id"]) in links


# ---- the script's limits and error words against the protocol (issue #13 item 7) --------------------------------
# One place: each device constant and the protocol value it must equal (or stay within), read from protocol.py's
# request table where the table has it, so a renamed limit constant does not break this.


def _high(address: str, name: str) -> float:
    return next(p.high for p in protocol.REQUESTS[address].params if p.name == name)


def _js_number(name: str) -> float:
    return float(re.search(rf"^var {name} = ([0-9.]+);", DEVICE_JS.read_text(), re.M).group(1))


def test_device_limits_and_error_words_match_the_protocol() -> None:
    equal = {
        "MAX_NOTES": _high("/arvae/clip/begin", "n_notes"),
        "MAX_BEATS": _high("/arvae/clip/begin", "length_beats"),
        "MAX_BARS": _high("/arvae/sample", "n_bars"),
        "BASE_REPLY_PORT": protocol.DEFAULT_REPLY_PORT,
    }
    within = {
        "MAX_VARIATIONS": min(_high("/arvae/regen", "variations"), _high("/arvae/interp", "steps")),
        "MAX_DIALS": protocol.MAX_TARGETS,
    }
    for name, value in equal.items():
        assert _js_number(name) == value, name
    for name, value in within.items():
        assert 1 <= _js_number(name) <= value, name
    assert f"127.0.0.1:{protocol.DEFAULT_PORT}" in DEVICE_JS.read_text()
    block = re.search(r"var ERROR_WORDS = \{(.*?)\};", DEVICE_JS.read_text(), re.S).group(1)
    words = set(re.findall(r"^\s+(\w+): \"", block, re.M))
    assert words == set(protocol.ERROR_CODES) | CONTRACT_ERROR_CODES


def test_device_pairs_the_bars_of_the_meters_the_grids_pair() -> None:
    """Sample's n_bars counts measures: the script's BARS_PER_MEASURE is every meter whose bars pair in a grid."""
    from arvae_live.core.meters import GRIDS

    block = re.search(r"^var BARS_PER_MEASURE = \{(.*?)\};", DEVICE_JS.read_text(), re.M).group(1)
    script = {m: int(n) for m, n in re.findall(r'"(\d+/\d+)": (\d+)', block)}
    paired = {m: n for g in GRIDS.values() for m, n in g.meters.items() if n != 1}
    assert script == paired


# ---- the .amxd: one file to drag into Live -------------------------------------------------------------------------


def test_amxd_is_a_midi_effect_holding_the_same_patch(patcher: dict) -> None:
    data = AMXD.read_bytes()
    assert data[:12] == b"ampf\x04\x00\x00\x00mmmm"  # chunk tag, little-endian length 4, device type
    device_type, read_back = build_patch.read_amxd(data)
    assert device_type == b"mmmm"
    assert read_back == {"patcher": patcher}
    assert data.endswith(b"}\n\x00")


def test_check_fails_when_either_file_is_stale(tmp_path, monkeypatch) -> None:
    maxpat, amxd = tmp_path / PATCH.name, tmp_path / AMXD.name
    monkeypatch.setattr(build_patch, "PATCH_PATH", maxpat)
    monkeypatch.setattr(build_patch, "AMXD_PATH", amxd)
    assert build_patch.main([]) == 0
    assert build_patch.main(["--check"]) == 0
    good = amxd.read_bytes()
    amxd.write_bytes(good.replace(b"arvae-live.js", b"arvae-live.jx", 1))
    assert build_patch.main(["--check"]) == 1
    amxd.write_bytes(good)
    maxpat.write_text(maxpat.read_text().replace("deferlow", "defer"))
    assert build_patch.main(["--check"]) == 1
    maxpat.unlink()
    assert build_patch.main(["--check"]) == 1


def test_amxd_reader_refuses_what_is_not_an_unfrozen_device() -> None:
    with pytest.raises(ValueError, match="truncated"):
        build_patch.read_amxd(b"ampf\x04\x00")
    with pytest.raises(ValueError, match="frozen"):
        build_patch.read_amxd(
            b"ampf\x04\x00\x00\x00mmmm" + b"meta\x04\x00\x00\x00\x04\x00\x00\x00" + b"ptch\x04\x00\x00\x00mx@c"
        )


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


def _streams(received_hex: list[str], rid: int) -> tuple[dict[int, dict], list | None]:
    """The result streams of request `rid` in the datagrams a device received: {v: {n, length, notes, asked,
    achieved}}, and the final reply's args."""
    results: dict[int, dict] = {}
    final = None
    for address, args in _decode(received_hex):
        if not args or args[0] != rid:
            continue
        if address == "/arvae/result/begin":
            results.setdefault(args[1], {"notes": {}, "asked": {}, "achieved": {}})
            results[args[1]].update(n=args[2], length=args[3])
        elif address == "/arvae/result/note":
            results[args[1]]["notes"][args[2]] = args[3:7]
        elif address == "/arvae/result/asked":
            results[args[1]]["asked"] = dict(zip(args[2::2], args[3::2]))
        elif address == "/arvae/result/end":
            results[args[1]]["achieved"] = dict(zip(args[3::2], args[4::2]))
        elif address in ("/arvae/regen", "/arvae/sample", "/arvae/interp"):
            final = args
    return results, final


def _written_as_streamed(results: dict[int, dict], clips: list, slots: list[int]) -> None:
    for v, slot in enumerate(slots):
        res = results[v]
        assert res["n"] > 0
        assert clips[slot]["notes"] == [res["notes"][i] for i in range(res["n"])], f"variation {v}"
        assert clips[slot]["length"] == res["length"]


def _request(dev: dict, address: str) -> list:
    (req,) = [m for m in dev["sent"] if m[0] == address]
    return req


node_only = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.mark.slow
@node_only
def test_device_script_regenerates_a_clip_through_the_real_daemon(daemon) -> None:
    from arvae_live.core.attributes import PAPER_ATTRIBUTES

    out = _run_harness(*daemon, "regen")
    assert out["error"] is None, out
    (dev,) = out["devices"]
    assert dev["status_msg"].startswith("Wrote 2 variation(s) into slot(s) 2, 3 of track 1"), dev["status_msg"]
    assert "Note: bar 2: 1 off-grid note(s) snapped" in dev["status_msg"]  # the daemon's /arvae/warning, shown
    assert dev["attr_labels"][:4] == [a.replace("_", " ") for a in PAPER_ATTRIBUTES]
    assert dev["misses"] == []
    regen_req = _request(dev, "/arvae/regen")
    # slot 0, 2 variations, temperature 0.5, seed 11, from bar 0, 2 bars, the one dial that was moved
    assert regen_req[2:] == [0, 2, 0.5, 11, 0, 2, "note_density", 0.9]
    results, final = _streams(dev["received"], regen_req[1])
    assert final is not None and final[1] == 2 and sorted(results) == [0, 1]
    clips = dev["clips"]
    assert clips[0]["notes"][0] == [60, 0, 1, 96], "the source clip is untouched"
    _written_as_streamed(results, clips, [1, 2])
    assert [clips[1]["name"], clips[2]["name"], clips[3]] == ["theme arvae 1/2", "theme arvae 2/2", None]

    # Under the moved dial: asked / achieved; under a free one: the value kept from the clip / achieved.
    def mean(field: str, name: str) -> str:
        return _fmt2((results[0][field][name] + results[1][field][name]) / 2)

    assert dev["attr_results"][2] == f"asked 0.90, got {mean('achieved', 'note_density')}"
    assert dev["attr_results"][0] == (
        f"clip {mean('asked', 'rhythmic_complexity')}, got {mean('achieved', 'rhythmic_complexity')}"
    )


@pytest.mark.slow
@node_only
def test_two_devices_against_one_daemon_never_cross(daemon) -> None:
    """Another program holds the base reply port; two devices take the next two, regenerate at once, and each
    writes exactly its own result, having received only datagrams that carry its own rids."""
    port, base = daemon
    out = _run_harness(port, base, "two")
    assert out["error"] is None, out
    one, two = out["devices"]
    assert {one["reply_port"], two["reply_port"]} == {base + 1, base + 2}  # in whichever order they got there
    for dev, n, slots in ((one, 2, [1, 2]), (two, 3, [1, 2, 3])):
        assert dev["status_msg"].startswith(f"Wrote {n} variation(s)"), dev["status_msg"]
        hello = [m for m in dev["sent"] if m[0] == "/arvae/hello"][-1]
        assert hello[3] == dev["reply_port"]
        regen_req = _request(dev, "/arvae/regen")
        results, final = _streams(dev["received"], regen_req[1])
        assert final[1] == n
        _written_as_streamed(results, dev["clips"], slots)
        own = {m[1] for m in dev["sent"]}
        received_rids = {args[0] for address, args in _decode(dev["received"]) if address != build_patch.PROBE_ADDRESS}
        assert received_rids <= own
    assert not ({m[1] for m in one["sent"]} & {m[1] for m in two["sent"]})


@pytest.mark.slow
@node_only
def test_sample_and_interpolate_through_the_real_daemon(daemon) -> None:
    out = _run_harness(*daemon, "modes")
    assert out["error"] is None, out
    (dev,) = out["devices"]
    assert dev["sampled"].startswith("Wrote 2 variation(s) into slot(s) 4, 5 of track 1"), dev["sampled"]
    sample_req = _request(dev, "/arvae/sample")
    assert sample_req[2:] == [2, 1.0, 9, 2, "pitch_range", 0.4]
    results, final = _streams(dev["received"], sample_req[1])
    assert final[1] == 2
    _written_as_streamed(results, dev["clips"], [3, 4])
    assert dev["clips"][3]["length"] == 8.0
    assert dev["status_msg"].startswith("Wrote 3 step(s) into slot(s) 2, 3, 6 of track 1"), dev["status_msg"]
    interp_req = _request(dev, "/arvae/interp")
    assert interp_req[2:] == [0, 1, 3]
    results, final = _streams(dev["received"], interp_req[1])
    assert final[1] == 3
    _written_as_streamed(results, dev["clips"], [1, 2, 5])
    assert [dev["clips"][s]["name"] for s in (1, 2, 5)] == ["A to B 1/3", "A to B 2/3", "A to B 3/3"]
    assert dev["clips"][6]["name"] == "B"


def _osc(address: str, *args) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


def _ask_daemon(port: int, address: str, *args) -> tuple[list, tuple[str, list]]:
    """From a fresh client: say hello, then send one request. Returns (the hello reply's args, (address, args) of
    the request's first reply)."""
    from pythonosc.osc_message import OscMessage

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        s.sendto(_osc("/arvae/hello", 1, "probe", s.getsockname()[1], 1), ("127.0.0.1", port))
        hello = OscMessage(s.recvfrom(65535)[0])
        s.sendto(_osc(address, 2, *args), ("127.0.0.1", port))
        reply = OscMessage(s.recvfrom(65535)[0])
    return list(hello.params), (reply.address, list(reply.params))


@pytest.mark.slow
@node_only
def test_the_device_echoes_the_daemons_nonce_before_it_uploads(daemon) -> None:
    port, _ = daemon
    hello, _ = _ask_daemon(port, "/arvae/ping")
    if len(hello) < 5:
        pytest.skip("this daemon's hello carries no nonce yet (it comes with the daemon side of the contract)")
    out = _run_harness(*daemon, "regen")
    assert out["error"] is None, out
    (dev,) = out["devices"]
    received = _decode(dev["received"])
    (nonce,) = {args[4] for address, args in received if address == "/arvae/hello"}
    verify = [m for m in dev["sent"] if m[0] == "/arvae/verify"]
    assert [m[2] for m in verify] == [nonce]
    assert ("/arvae/verify", [verify[0][1], 1]) in received
    sent = [m[0] for m in dev["sent"]]
    assert sent.index("/arvae/verify") < sent.index("/arvae/clip/begin")
    assert dev["status_msg"].startswith("Wrote 2 variation(s)"), dev["status_msg"]


@pytest.mark.slow
@node_only
def test_a_lost_datagram_is_asked_for_again_with_resend(daemon) -> None:
    port, _ = daemon
    _, (address, args) = _ask_daemon(port, "/arvae/resend", 1, 0)
    if address == "/arvae/error" and args[1] == "unknown_address":
        pytest.skip("this daemon does not know /arvae/resend yet (it comes with the daemon side of the contract)")
    out = _run_harness(*daemon, "resend")
    assert out["error"] is None, out
    (dev,) = out["devices"]
    assert dev["status_msg"].startswith("Wrote 1 variation(s)"), dev["status_msg"]
    regen_req = _request(dev, "/arvae/regen")
    assert [m[2:] for m in dev["sent"] if m[0] == "/arvae/resend"] == [[regen_req[1], 0]]
    results, _ = _streams(dev["received"], regen_req[1])
    _written_as_streamed(results, dev["clips"], [1])


@pytest.mark.slow
@node_only
def test_the_key_menu_sends_lives_scale_and_the_daemons_notes_keep_to_it(daemon) -> None:
    """Key = Live's scale with the fake Set on Db major pentatonic (root_note 1, scale_intervals 0 2 4 7 9): the
    daemon takes the mask, a regeneration keeps to it (plus the clip's own pitch classes) and says "custom", and a
    Sample, which has no clip, keeps to the scale alone."""
    out = _run_harness(*daemon, "key")
    assert out["error"] is None, out
    (dev,) = out["devices"]
    scale = {1, 3, 5, 8, 10}  # (1 + interval) % 12
    mask = sum(1 << k for k in scale)
    sent = [m for m in dev["sent"] if m[0] == "/arvae/scale"]
    assert [m[2:] for m in sent] == [["auto"], ["set", mask]]  # after the handshake, then the menu
    received = _decode(dev["received"])
    assert ("/arvae/scale", [sent[-1][1], "set", mask]) in received, "the daemon accepted it"
    own = {0, 2, 4, 5, 7}  # the clip's pitch classes (C D E F G), which stay possible

    def pitch_classes(results: dict[int, dict]) -> set[int]:
        return {note[0] % 12 for res in results.values() for note in res["notes"].values()}

    regen_req = _request(dev, "/arvae/regen")
    results, final = _streams(dev["received"], regen_req[1])
    assert final[1] == 2 and final[3] == "custom", final
    assert pitch_classes(results) <= scale | own, pitch_classes(results)
    regenerated = dev["regenerated"]
    assert regenerated.startswith("Wrote 2 variation(s) into slot(s) 2, 3 of track 1, in Live's scale ("), regenerated
    sample_req = _request(dev, "/arvae/sample")
    results, final = _streams(dev["received"], sample_req[1])
    assert final[1] == 2
    assert sum(len(res["notes"]) for res in results.values()) >= 4
    assert pitch_classes(results) <= scale, pitch_classes(results)
    assert dev["sampled"].startswith("Wrote 2 variation(s)"), dev["sampled"]
    assert dev["misses"] == []


@node_only
def test_device_script_with_no_daemon_says_so_and_changes_nothing() -> None:
    out = _run_harness(_free_udp_port(), _free_udp_port(), "offline")
    (dev,) = out["devices"]
    assert dev["status_msg"].startswith("Daemon offline: nothing answers on 127.0.0.1:9127"), dev["status_msg"]
    assert "arvae-live serve" in dev["status_msg"]
    assert out["changes"] == []
    assert {args[0] for address, args in _decode(dev["received"])} <= {
        m[1] for m in dev["sent"] if m[0] == build_patch.PROBE_ADDRESS
    } or all(address == build_patch.PROBE_ADDRESS for address, _ in _decode(dev["received"]))
    assert [m for m in dev["sent"] if m[0].startswith("/arvae/clip/")] == []
