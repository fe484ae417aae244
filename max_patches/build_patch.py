"""Writes max_patches/arvae-live.maxpat, the Max for Live device, from the tables below.

The patch is generated, not drawn by hand, so that the ports, the routed OSC addresses and the controls live in one
readable place and the JSON stays consistent (box ids, inlet/outlet counts, parameter names). Run it after editing:

    python max_patches/build_patch.py            # rewrite arvae-live.maxpat
    python max_patches/build_patch.py --check    # exit 1 if the committed file differs from what this script writes

Only stock Max objects are used. Inlet/outlet counts are those Max saves for each object (routepass with n selectors
has n+1 inlets and n+1 outlets; live.dial, live.numbox and live.text have 2 outlets; live.menu has 3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATCH_PATH = HERE / "arvae-live.maxpat"
JS_FILE = "arvae-live.js"

# Protocol v1 defaults (arvae_live/protocol.py holds the daemon's; tests/test_max_patch.py checks they agree).
DAEMON_HOST = "127.0.0.1"
DAEMON_PORT = 9127
REPLY_PORT = 9128

# Every address the device handles, in the order of routepass's outlets; arvae-live.js has a handler for each.
ROUTED_ADDRESSES = (
    "/arvae/hello",
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
    "/arvae/warning",
    "/arvae/error",
)

N_DIALS = 8  # MAX_DIALS in arvae-live.js
DEVICE_WIDTH = 640.0


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


def build() -> dict:
    p = Patch()

    # -- engine: device ready -> js; js -> udpsend / print; udpreceive -> deferlow -> routepass -> js
    thisdevice = p.obj("live.thisdevice", 1, 3, 20, 20, outlettype=["bang", "int", "int"])
    js = p.obj(f"js {JS_FILE} {REPLY_PORT}", 1, 2, 20, 330, width=180)
    udpsend = p.obj(f"udpsend {DAEMON_HOST} {DAEMON_PORT}", 1, 0, 20, 380)
    log_print = p.obj("print arvae-live", 1, 0, 230, 380)
    udpreceive = p.obj(f"udpreceive {REPLY_PORT}", 1, 1, 20, 60)
    # Live API calls must not run in Max's high-priority thread: replies are moved to the low-priority queue, in order.
    defer = p.obj("deferlow", 1, 1, 20, 90)
    n_routes = len(ROUTED_ADDRESSES)
    route = p.obj("routepass " + " ".join(ROUTED_ADDRESSES), n_routes + 1, n_routes + 1, 20, 120, width=1000)
    unknown = p.obj("print arvae-live-unrouted", 1, 0, 1040, 160)
    p.line(thisdevice, 0, js, 0)
    p.line(js, 0, udpsend, 0)
    p.line(js, 1, log_print, 0)
    p.line(udpreceive, 0, defer, 0)
    p.line(defer, 0, route, 0)
    for outlet in range(n_routes):
        p.line(route, outlet, js, 0)
    p.line(route, n_routes, unknown, 0)

    # -- MIDI passes through untouched: the device sits on a MIDI track in front of an instrument.
    midiin = p.obj("midiin", 1, 1, 560, 20, outlettype=["int"])
    midiout = p.obj("midiout", 1, 0, 560, 60)
    p.line(midiin, 0, midiout, 0)

    # -- header row: title, model menu, connection status
    p.add("comment", 1, 0, [700, 20, 80, 20], present=[6, 2, 70, 18], text="arvae-live", fontface=1)
    menu = p.add(
        "live.menu",
        1,
        3,
        [700, 50, 120, 15],
        outlettype=["", "", "float"],
        present=[74, 4, 130, 15],
        parameter_enable=1,
        varname="model_menu",
        saved_attribute_attributes=_param("Model", "Model", 2, parameter_enum=["(no daemon)"], parameter_mmax=0),
    )
    p.line(menu, 0, p.obj("prepend model", 1, 1, 700, 75), 0)
    p.line(p.boxes[-1]["box"]["id"], 0, js, 0)
    p.add(
        "comment",
        1,
        0,
        [850, 50, 300, 20],
        present=[210, 2, 424, 18],
        varname="status_conn",
        text="daemon offline: run `arvae-live serve`",
    )

    # -- attribute dials: built for the loaded model by the script (labels, visibility), 0..1 targets
    for i in range(N_DIALS):
        x = 20 + i * 70
        px = 6 + i * 60
        p.add(
            "comment",
            1,
            0,
            [x, 430, 66, 20],
            present=[px, 22, 60, 14],
            varname=f"attr_label_{i}",
            text="",
            fontsize=9.0,
        )
        dial = p.add(
            "live.dial",
            1,
            2,
            [x, 455, 44, 48],
            outlettype=["", "float"],
            present=[px + 8, 36, 44, 44],
            parameter_enable=1,
            varname=f"attr_dial_{i}",
            showname=0,
            saved_attribute_attributes=_param(
                f"Attr {i + 1}",
                f"Attr {i + 1}",
                0,
                parameter_mmin=0.0,
                parameter_mmax=1.0,
                parameter_initial=[0.5],
                parameter_initial_enable=1,
                parameter_unitstyle=1,
            ),
        )
        prep = p.obj(f"prepend target {i}", 1, 1, x, 510, width=66)
        p.line(dial, 0, prep, 0)
        p.line(prep, 0, js, 0)
        p.add(
            "comment",
            1,
            0,
            [x, 540, 66, 30],
            present=[px, 82, 60, 26],
            varname=f"attr_result_{i}",
            text="",
            fontsize=8.0,
            linecount=2,
        )

    # -- request settings and buttons (right column)
    col = 490.0
    controls = [
        # (maxclass, varname, message, presentation rect, param, extra attrs)
        (
            "live.numbox",
            "variations_box",
            "variations",
            [col + 70, 22, 40, 15],
            _param(
                "Variations",
                "Variations",
                1,
                parameter_mmin=1.0,
                parameter_mmax=8.0,
                parameter_initial=[1],
                parameter_initial_enable=1,
                parameter_unitstyle=0,
            ),
            {},
        ),
        (
            "live.numbox",
            "temperature_box",
            "temperature",
            [col + 70, 40, 40, 15],
            _param(
                "Temperature",
                "Temp",
                0,
                parameter_mmin=0.0,
                parameter_mmax=2.0,
                parameter_initial=[1.0],
                parameter_initial_enable=1,
                parameter_unitstyle=1,
            ),
            {},
        ),
        (
            "live.numbox",
            "seed_box",
            "seed",
            [col + 70, 58, 70, 15],
            _param(
                "Seed",
                "Seed",
                1,
                parameter_mmin=0.0,
                parameter_mmax=99999.0,
                parameter_initial=[0],
                parameter_initial_enable=1,
                parameter_unitstyle=0,
            ),
            {},
        ),
        (
            "live.text",
            "replace_toggle",
            "replace",
            [col, 78, 68, 16],
            _param("Replace", "Replace", 2, parameter_enum=["off", "on"], parameter_mmax=1),
            {"mode": 1, "text": "Replace", "texton": "Replace"},
        ),
        (
            "live.text",
            "auto_toggle",
            "auto",
            [col + 72, 78, 68, 16],
            _param("Auto", "Auto", 2, parameter_enum=["off", "on"], parameter_mmax=1),
            {"mode": 1, "text": "Auto", "texton": "Auto"},
        ),
        (
            "live.text",
            "free_button",
            "free",
            [col, 98, 140, 16],
            _param("Free dials", "Free", 2, parameter_enum=["off", "on"], parameter_mmax=1),
            {"mode": 0, "text": "Free dials", "texton": "Free dials"},
        ),
        (
            "live.text",
            "regen_button",
            "regen",
            [col, 118, 140, 26],
            _param("Regenerate", "Regen", 2, parameter_enum=["off", "on"], parameter_mmax=1),
            {"mode": 0, "text": "Regenerate", "texton": "Regenerate"},
        ),
    ]
    for row, (maxclass, varname, message, present, param, extra) in enumerate(controls):
        y = 620 + row * 60
        ui = p.add(
            maxclass,
            1,
            2,
            [20, y, 80, 20],
            outlettype=["", "float"] if maxclass == "live.numbox" else ["", ""],
            present=present,
            parameter_enable=1,
            varname=varname,
            saved_attribute_attributes=param,
            **extra,
        )
        prep = p.obj(f"prepend {message}", 1, 1, 20, y + 28)
        p.line(ui, 0, prep, 0)
        p.line(prep, 0, js, 0)
    for label, y in (("Variations", 22), ("Temperature", 40), ("Seed", 58)):
        p.add("comment", 1, 0, [130, 620, 80, 20], present=[col, y - 2, 70, 18], text=label, fontsize=9.0)

    # -- the last action's result or error, in words
    p.add(
        "comment",
        1,
        0,
        [850, 80, 300, 40],
        present=[6, 110, 478, 44],
        varname="status_msg",
        linecount=3,
        text="press Regenerate with a MIDI clip selected",
        fontsize=9.0,
    )

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
            "rect": [100.0, 100.0, 1200.0, 1100.0],
            "openinpresentation": 1,
            "default_fontsize": 10.0,
            "default_fontname": "Arial",
            "gridsize": [8.0, 8.0],
            "devicewidth": DEVICE_WIDTH,
            "description": "arvae-live: regenerate a MIDI clip's melody by musical attributes (AR-VAE) "
            "with the arvae-live daemon",
            "boxes": p.boxes,
            "lines": p.lines,
            "parameters": parameters,
            "dependency_cache": [{"name": JS_FILE, "bootpath": ".", "type": "TEXT", "implicit": 1}],
            "autosave": 0,
        }
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed patch differs from the generated")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        same = PATCH_PATH.exists() and PATCH_PATH.read_text() == text
        print("up to date" if same else f"{PATCH_PATH.name} differs: run python max_patches/build_patch.py")  # noqa: T201 (a script)
        return 0 if same else 1
    tmp = PATCH_PATH.with_suffix(".maxpat.tmp")
    tmp.write_text(text)
    os.replace(tmp, PATCH_PATH)  # whole or not at all
    print(f"wrote {PATCH_PATH}")  # noqa: T201 (a script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
