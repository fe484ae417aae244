"""Writes the Max for Live device from the tables below: max_patches/arvae-live.maxpat (the patch, readable JSON) and
max_patches/arvae-live.amxd (the same patch in Live's device container, the one file a performer drags onto a MIDI
track).

The patch is generated, not drawn by hand, so that the ports, the routed OSC addresses and the controls live in one
readable place and the JSON stays consistent (box ids, inlet/outlet counts, parameter names). Run it after editing:

    python max_patches/build_patch.py            # rewrite arvae-live.maxpat and arvae-live.amxd
    python max_patches/build_patch.py --check    # exit 1 if either committed file differs from what this writes

Only stock Max objects are used. Inlet/outlet counts are those Max saves for each object (routepass with n selectors
has n+1 inlets and n+1 outlets; live.dial, live.numbox and live.text have 2 outlets; live.menu and pattr have 3).

The .amxd container. Live's device files are a sequence of chunks, each a 4-byte ASCII tag, a little-endian uint32
length and that many bytes: `ampf` (4 bytes: the device type, `mmmm` for a MIDI effect), `meta` (4 bytes, a
little-endian uint32; Ableton's own devices carry 4 or 7) and `ptch` (the patcher JSON, NUL-terminated; a frozen
device carries an `mx@c` collective there instead). This follows the reader in Ableton's maxdevtools
(github.com/Ableton/maxdevtools, maxdiff/amxd_textconv.py: tag, LE length, data; device types aaaa/mmmm/iiii;
`ptch` JSON with or without the trailing NUL), checked byte-wise against Ableton's m4l-connection-kit devices (see
/work/shared/reference/daw-anchors.md, A8). The device is not frozen: Max finds arvae-live.js beside the .amxd
(a device's own folder is on Max's search path), so the two files travel together; freezing in Max (the snowflake)
embeds the script for a single-file copy.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATCH_PATH = HERE / "arvae-live.maxpat"
AMXD_PATH = HERE / "arvae-live.amxd"
JS_FILE = "arvae-live.js"

# Protocol v1 defaults (arvae_live/protocol.py holds the daemon's; tests/test_max_patch.py checks they agree).
DAEMON_HOST = "127.0.0.1"
DAEMON_PORT = 9127
REPLY_PORT = 9128  # the first reply port a device tries; further copies of the device take 9129, 9130, ...

# The address of the probe a device sends to its own reply port to prove it holds it (never sent to the daemon).
PROBE_ADDRESS = "/arvae/device/probe"

# Every address the device handles, in the order of routepass's outlets; arvae-live.js has a handler for each.
ROUTED_ADDRESSES = (
    PROBE_ADDRESS,
    "/arvae/hello",
    "/arvae/verify",
    "/arvae/ping",
    "/arvae/status",
    "/arvae/models/begin",
    "/arvae/models/item",
    "/arvae/models/end",
    "/arvae/attrs/begin",
    "/arvae/attrs/item",
    "/arvae/attrs/end",
    "/arvae/model/load",
    "/arvae/clip/end",
    "/arvae/result/begin",
    "/arvae/result/note",
    "/arvae/result/asked",
    "/arvae/result/end",
    "/arvae/regen",
    "/arvae/sample",
    "/arvae/interp",
    "/arvae/resend",
    "/arvae/scale",
    "/arvae/cancel",
    "/arvae/warning",
    "/arvae/error",
)

N_DIALS = 8  # MAX_DIALS in arvae-live.js
# The dials' parameter names as saved: the bundled models' attributes (arvae_live.core.attributes.PAPER_ATTRIBUTES,
# checked by tests/test_max_patch.py), then placeholders. The script renames them after the loaded model's
# attributes, so automation lanes carry the attribute names. DIAL_PARAMETER_NAMES in arvae-live.js is this list.
DIAL_NAMES = ("rhythmic_complexity", "pitch_range", "note_density", "contour", "Attr 5", "Attr 6", "Attr 7", "Attr 8")
MODE_NAMES = ("Regenerate", "Sample", "Interpolate")  # MODE_NAMES in arvae-live.js
# The Key menu, in the order of KEY_CHOICES in arvae-live.js (auto, off, live): which pitches the daemon keeps to.
KEY_NAMES = ("Auto (clip's key)", "Off (any pitch)", "Live's scale")
DEVICE_WIDTH = 760.0
AMXD_DEVICE_TYPE = b"mmmm"  # a MIDI effect
AMXD_META = 4


class Patch:
    """Collects boxes and lines with sequential ids."""

    def __init__(self) -> None:
        self.boxes: list[dict] = []
        self.lines: list[dict] = []

    def add(
        self,
        maxclass: str,
        n_in: int,
        n_out: int,
        rect: list[float],
        *,
        outlettype: list[str] | None = None,
        present: list[float] | None = None,
        **attrs,
    ) -> str:
        box_id = f"obj-{len(self.boxes) + 1}"
        box = {"id": box_id, "maxclass": maxclass, "numinlets": n_in, "numoutlets": n_out}
        if n_out:
            box["outlettype"] = outlettype if outlettype is not None else [""] * n_out
        box["patching_rect"] = [float(v) for v in rect]
        if present is not None:
            box["presentation"] = 1
            box["presentation_rect"] = [float(v) for v in present]
        box.update(attrs)
        self.boxes.append({"box": box})
        return box_id

    def obj(
        self,
        text: str,
        n_in: int,
        n_out: int,
        x: float,
        y: float,
        *,
        outlettype: list[str] | None = None,
        width: float | None = None,
    ) -> str:
        w = width if width is not None else max(40.0, 7.0 * len(text) + 12.0)
        return self.add("newobj", n_in, n_out, [x, y, w, 22.0], outlettype=outlettype, text=text)

    def line(self, src: str, outlet: int, dst: str, inlet: int) -> None:
        self.lines.append({"patchline": {"source": [src, outlet], "destination": [dst, inlet]}})


def _param(longname: str, shortname: str, ptype: int, **extra) -> dict:
    """The saved_attribute_attributes of a Live parameter (ptype: 0 float, 1 int, 2 enum)."""
    valueof = {"parameter_longname": longname, "parameter_shortname": shortname, "parameter_type": ptype}
    valueof.update(extra)
    return {"valueof": valueof}


def _control(
    p: Patch, maxclass: str, varname: str, message: str, param: dict, present: list[float], y: float, js: str, **attrs
) -> None:
    """A Live parameter UI object whose output reaches the script as `message value`."""
    outlettype = ["", "float"] if maxclass == "live.numbox" else ["", ""]
    ui = p.add(maxclass, 1, 2, [20, y, 80, 20], outlettype=outlettype, present=present, parameter_enable=1,
               varname=varname, saved_attribute_attributes=param, **attrs)  # fmt: skip
    prep = p.obj(f"prepend {message}", 1, 1, 20, y + 28)
    p.line(ui, 0, prep, 0)
    p.line(prep, 0, js, 0)


def _button(p: Patch, varname: str, message: str, longname: str, text: str, present: list[float], y: float, js: str,
            *, toggle: bool = False) -> None:  # fmt: skip
    """A live.text: a button (sends 1 on press, 0 on release) or, with toggle, an on/off switch."""
    param = _param(longname, longname, 2, parameter_enum=["off", "on"], parameter_mmax=1)
    _control(p, "live.text", varname, message, param, present, y, js, mode=1 if toggle else 0, text=text, texton=text)


def _numbox(p: Patch, varname: str, message: str, longname: str, shortname: str, ptype: int, lo: float, hi: float,
            initial: float, present: list[float], y: float, js: str) -> None:  # fmt: skip
    """A live.numbox: ptype 1 (int) or 0 (float), range lo..hi."""
    unitstyle = 0 if ptype else 1
    param = _param(longname, shortname, ptype, parameter_mmin=float(lo), parameter_mmax=float(hi),
                   parameter_initial=[initial], parameter_initial_enable=1, parameter_unitstyle=unitstyle)  # fmt: skip
    _control(p, "live.numbox", varname, message, param, present, y, js)


def _label(p: Patch, text: str, present: list[float], y: float) -> None:
    p.add("comment", 1, 0, [130, y, 80, 20], present=present, text=text, fontsize=9.0)


def build() -> dict:
    p = Patch()

    # -- engine: device ready -> js; js -> udpsend / print; udpreceive -> deferlow -> routepass -> js
    thisdevice = p.obj("live.thisdevice", 1, 3, 20, 20, outlettype=["bang", "int", "int"])
    js = p.obj(f"js {JS_FILE} {REPLY_PORT}", 1, 2, 20, 330, width=180)
    udpsend = p.obj(f"udpsend {DAEMON_HOST} {DAEMON_PORT}", 1, 0, 20, 380)
    log_print = p.obj("print arvae-live", 1, 0, 230, 380)
    # The reply port: the script moves it (`port N`) to the first free one from REPLY_PORT up, and proves it by a
    # probe sent through probe_out, a udpsend to 127.0.0.1 on that same port.
    udpreceive = p.obj(f"udpreceive {REPLY_PORT}", 1, 1, 20, 60)
    p.boxes[-1]["box"]["varname"] = "reply_in"
    p.obj(f"udpsend {DAEMON_HOST} {REPLY_PORT}", 1, 0, 420, 380)
    p.boxes[-1]["box"]["varname"] = "probe_out"
    # Live API calls must not run in Max's high-priority thread: replies are moved to the low-priority queue, in order.
    defer = p.obj("deferlow", 1, 1, 20, 90)
    n_routes = len(ROUTED_ADDRESSES)
    route = p.obj("routepass " + " ".join(ROUTED_ADDRESSES), n_routes + 1, n_routes + 1, 20, 120, width=1200)
    unknown = p.obj("print arvae-live-unrouted", 1, 0, 1240, 160)
    p.line(thisdevice, 0, js, 0)
    p.line(js, 0, udpsend, 0)
    p.line(js, 1, log_print, 0)
    p.line(udpreceive, 0, defer, 0)
    p.line(defer, 0, route, 0)
    for outlet in range(n_routes):
        p.line(route, outlet, js, 0)
    p.line(route, n_routes, unknown, 0)

    # -- saved state (which dials are set, the model) in the Live Set: a pattr in parameter mode (type blob, stored
    # only, not automatable). It outputs the saved value when the Set loads (autorestore) and keeps what the script
    # sends it without passing it on (thru 0).
    store = p.add(
        "newobj",
        1,
        3,
        [420, 20, 240, 22],
        outlettype=["", "", ""],
        text="pattr arvae_state @autorestore 1 @thru 0",
        varname="state_store",
        parameter_enable=1,
        saved_attribute_attributes=_param("arvae state", "state", 3, parameter_invisible=1),
        saved_object_attributes={"parameter_enable": 1, "parameter_mappable": 0},
    )
    restore = p.obj("prepend restore", 1, 1, 420, 50)
    p.line(store, 0, restore, 0)
    p.line(restore, 0, js, 0)

    # -- MIDI passes through untouched: the device sits on a MIDI track in front of an instrument.
    midiin = p.obj("midiin", 1, 1, 560, 20, outlettype=["int"])
    midiout = p.obj("midiout", 1, 0, 560, 60)
    p.line(midiin, 0, midiout, 0)

    col = 482.0  # the right column's left edge (request settings, buttons, clip B, Key)

    # -- header row: title, mode and model menus, connection status; the Key menu
    p.add("comment", 1, 0, [700, 20, 80, 20], present=[6, 2, 64, 18], text="arvae-live", fontface=1)
    for varname, message, longname, enum, x, present in (
        ("mode_menu", "mode", "Mode", list(MODE_NAMES), 700, [72, 4, 96, 15]),
        ("model_menu", "model", "Model", ["auto (by meter)"], 830, [172, 4, 130, 15]),
        # bottom of the right column, under clip B's line
        ("key_menu", "key", "Key", list(KEY_NAMES), 1280, [col + 34, 146, 130, 15]),
    ):
        menu = p.add(
            "live.menu",
            1,
            3,
            [x, 50, 120, 15],
            outlettype=["", "", "float"],
            present=present,
            parameter_enable=1,
            varname=varname,
            saved_attribute_attributes=_param(longname, longname, 2, parameter_enum=enum, parameter_mmax=len(enum) - 1),
        )
        prep = p.obj(f"prepend {message}", 1, 1, x, 75)
        p.line(menu, 0, prep, 0)
        p.line(prep, 0, js, 0)
    p.add(
        "comment",
        1,
        0,
        [960, 50, 300, 20],
        present=[308, 2, 446, 18],
        varname="status_conn",
        text="daemon offline: run `arvae-live serve`",
    )

    # -- attribute dials, 4 x 2: the full attribute name above each, asked/achieved beside it; 0..1 targets
    for i in range(N_DIALS):
        x = 20 + i * 130
        px, py = 6 + (i % 4) * 118, 22 + (i // 4) * 56
        p.add(
            "comment",
            1,
            0,
            [x, 430, 120, 20],
            present=[px, py, 116, 14],
            varname=f"attr_label_{i}",
            text=DIAL_NAMES[i].replace("_", " ") if i < 4 else "",
            fontsize=9.0,
        )
        dial = p.add(
            "live.dial",
            1,
            2,
            [x, 455, 44, 48],
            outlettype=["", "float"],
            present=[px, py + 14, 38, 38],
            parameter_enable=1,
            varname=f"attr_dial_{i}",
            showname=0,
            saved_attribute_attributes=_param(
                DIAL_NAMES[i],
                DIAL_NAMES[i],
                0,
                parameter_mmin=0.0,
                parameter_mmax=1.0,
                parameter_initial=[0.5],
                parameter_initial_enable=1,
                parameter_unitstyle=1,
            ),
        )
        prep = p.obj(f"prepend target {i}", 1, 1, x, 510, width=90)
        p.line(dial, 0, prep, 0)
        p.line(prep, 0, js, 0)
        p.add(
            "comment",
            1,
            0,
            [x, 540, 120, 40],
            present=[px + 42, py + 14, 74, 40],
            varname=f"attr_result_{i}",
            text="",
            fontsize=8.0,
            linecount=3,
        )

    _label(p, "Key", [col, 144, 30, 18], y=620)

    # -- request settings and buttons (right column)
    y = 620.0
    for args in (
        ("variations_box", "variations", "Variations", "Variations", 1, 1, 8, 1, [col + 64, 22, 40, 15]),
        ("temperature_box", "temperature", "Temperature", "Temp", 0, 0, 2, 1.0, [col + 190, 22, 40, 15]),
        ("seed_box", "seed", "Seed", "Seed", 1, 0, 99999, 0, [col + 64, 40, 60, 15]),
        ("bars_box", "bars", "Bars", "Bars", 1, 1, 64, 4, [col + 190, 40, 40, 15]),
    ):
        _numbox(p, *args, y=y, js=js)
        y += 60
    for text, present in (
        ("Variations/steps", [col, 20, 64, 18]),
        ("Temperature", [col + 126, 20, 64, 18]),
        ("Seed", [col, 38, 64, 18]),
        ("Sample bars", [col + 126, 38, 64, 18]),
    ):
        _label(p, text, present, y=620)
    for varname, message, longname, text, present, toggle in (
        ("replace_toggle", "replace", "Replace", "Replace", [col, 60, 62, 16], True),
        ("auto_toggle", "auto", "Auto", "Auto", [col + 66, 60, 62, 16], True),
        ("free_button", "free", "Free dials", "Free dials", [col + 132, 60, 70, 16], False),
        ("setb_button", "setb", "Set B", "Set B", [col + 206, 60, 62, 16], False),
        ("go_button", "go", "Go", "Go", [col, 80, 130, 24], False),
        ("cancel_button", "cancel", "Cancel", "Cancel", [col + 134, 80, 64, 24], False),
        ("overwrite_button", "overwrite", "Overwrite", "Overwrite", [col + 202, 80, 66, 24], False),
    ):
        _button(p, varname, message, longname, text, present, y, js, toggle=toggle)
        y += 60

    # -- what the device is doing, clip B, and the last action's result or error, in words
    for varname, text, rect, present, lines in (
        ("status_busy", "", [850, 80, 300, 20], [col, 108, 272, 14], 1),
        ("partner_label", "B: none", [850, 100, 300, 20], [col, 124, 272, 14], 1),
        ("status_msg", "select a MIDI clip and press Go", [850, 120, 300, 40], [6, 136, 474, 32], 2),
    ):
        p.add("comment", 1, 0, rect, present=present, varname=varname, linecount=lines, text=text, fontsize=9.0)

    parameters = {}
    for entry in p.boxes:
        box = entry["box"]
        if box.get("parameter_enable") == 1:
            v = box["saved_attribute_attributes"]["valueof"]
            parameters[box["id"]] = [v["parameter_longname"], v["parameter_shortname"], 0]

    return {
        "patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64", "modernui": 1},
            "classnamespace": "box",
            "rect": [100.0, 100.0, 1400.0, 1100.0],
            "openinpresentation": 1,
            "default_fontsize": 10.0,
            "default_fontname": "Arial",
            "gridsize": [8.0, 8.0],
            "devicewidth": DEVICE_WIDTH,
            "description": "arvae-live: regenerate, sample and interpolate MIDI melodies by musical attributes "
            "(AR-VAE) with the arvae-live daemon",
            "boxes": p.boxes,
            "lines": p.lines,
            "parameters": parameters,
            # the script sits beside the patch / device: Max looks for it relative to the patcher's folder
            "dependency_cache": [
                {"name": JS_FILE, "bootpath": ".", "patcherrelativepath": ".", "type": "TEXT", "implicit": 1}
            ],
            "autosave": 0,
        }
    }


def render() -> str:
    """The .maxpat text."""
    return json.dumps(build(), indent=2) + "\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data


def amxd_bytes(patch_text: str) -> bytes:
    """The .amxd container around a patch's JSON text (see the module docstring for the layout)."""
    return (
        _chunk(b"ampf", AMXD_DEVICE_TYPE)
        + _chunk(b"meta", struct.pack("<I", AMXD_META))
        + _chunk(b"ptch", patch_text.encode("utf-8") + b"\0")
    )


def read_amxd(data: bytes) -> tuple[bytes, dict]:
    """(device type, patcher dict) of an unfrozen .amxd; ValueError when it is not one."""
    chunks: dict[bytes, bytes] = {}
    off = 0
    while off < len(data):
        if off + 8 > len(data):
            raise ValueError(f"truncated chunk header at byte {off}")
        tag, (size,) = data[off : off + 4], struct.unpack("<I", data[off + 4 : off + 8])
        if off + 8 + size > len(data):
            raise ValueError(f"chunk {tag!r} runs past the end of the file")
        chunks[tag] = data[off + 8 : off + 8 + size]
        off += 8 + size
    if set(chunks) != {b"ampf", b"meta", b"ptch"}:
        raise ValueError(f"expected chunks ampf, meta, ptch; got {sorted(chunks)}")
    ptch = chunks[b"ptch"]
    if ptch.startswith(b"mx@c"):
        raise ValueError("the device is frozen (mx@c): this reader takes unfrozen devices only")
    return chunks[b"ampf"], json.loads(ptch.rstrip(b"\0").decode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # whole or not at all


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a committed file differs from the generated")
    args = ap.parse_args(argv)
    text = render()
    outputs = {PATCH_PATH: text.encode("utf-8"), AMXD_PATH: amxd_bytes(text)}
    if args.check:
        stale = [p.name for p, data in outputs.items() if not p.exists() or p.read_bytes() != data]
        msg = "up to date" if not stale else f"{', '.join(stale)} differ(s): run python max_patches/build_patch.py"
        print(msg)  # noqa: T201 (a script)
        return 1 if stale else 0
    for path, data in outputs.items():
        _write(path, data)
        print(f"wrote {path}")  # noqa: T201 (a script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
