"""The protocol table: argument validation, the reply encoder, and docs/protocol.md agreeing with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from arvae_live.osc_wire import decode_message, encode_message
from arvae_live.protocol import REQUESTS, ProtocolError, markdown_table, parse_request

ROOT = Path(__file__).resolve().parents[1]


def test_docs_table_is_the_generated_one():
    text = (ROOT / "docs" / "protocol.md").read_text()
    m = re.search(r"<!-- protocol-table:begin -->\n(.*)\n<!-- protocol-table:end -->", text, re.S)
    assert m, "docs/protocol.md lost its table markers"
    assert m.group(1).strip() == markdown_table().strip(), "regenerate with: python -m arvae_live.protocol"
    for address in REQUESTS:
        assert f"`{address}`" in text


def test_encoder_matches_python_osc_builder_byte_for_byte():
    args = [7, 0, -3, 0.25, 1e-3, "note_density", "", "abc"]
    b = OscMessageBuilder("/arvae/result/end")
    for a in args:
        b.add_arg(a, {int: "i", float: "f", str: "s"}[type(a)])
    assert encode_message("/arvae/result/end", *args) == b.build().dgram
    parsed = OscMessage(encode_message("/arvae/ping", 5, 1.5))
    assert parsed.address == "/arvae/ping" and parsed.params == [5, 1.5]


def test_encoder_refuses_what_max_cannot_take_and_oversize():
    with pytest.raises(ValueError, match="only i, f, s"):
        encode_message("/x", True)
    with pytest.raises(ValueError, match="64"):
        encode_message("/x", *range(65))
    with pytest.raises(ValueError, match="4096"):
        encode_message("/x", "a" * 5000)


def test_regen_parses_with_lenient_numbers_and_targets():
    req = parse_request("/arvae/regen", [9, 0, 2.0, 1, 42, 0, 0, "note_density", 1, "contour", 0.25])
    assert req.rid == 9
    assert req.values == {"slot": 0, "variations": 2, "temperature": 1.0, "seed": 42, "start_bar": 0, "n_bars": 0}
    assert isinstance(req.values["variations"], int) and isinstance(req.values["temperature"], float)
    assert req.targets == {"note_density": 1.0, "contour": 0.25}


@pytest.mark.parametrize(
    "address, args, code, match",
    [
        ("/arvae/nope", [1], "unknown_address", "unknown address"),
        ("/arvae/ping", [], "bad_args", "missing rid"),
        ("/arvae/ping", ["x"], "bad_args", "rid must be a number"),
        ("/arvae/ping", [-1], "bad_args", "rid must be in range"),
        ("/arvae/regen", [1, 0, 1.5, 0.0, 0, 0, 0], "bad_args", "variations must be an integer"),
        ("/arvae/regen", [1, 0, 17, 0.0, 0, 0, 0], "too_large", "variations must be in range 1..16"),
        ("/arvae/regen", [1, 0, 1, 0.0, 0, 0, 65], "too_large", "n_bars"),
        ("/arvae/regen", [1, 0, 1, 0.0, 0, 0], "bad_args", "needs rid:i slot:i"),
        ("/arvae/regen", [1, 0, 1, 0.0, 0, 0, 0, "contour"], "bad_args", "pairs"),
        ("/arvae/regen", [1, 0, 1, 0.0, 0, 0, 0, "contour", 1.5], "bad_args", "0..1"),
        ("/arvae/regen", [1, 0, 1, 0.0, 0, 0, 0, "contour", 0.1, "contour", 0.2], "bad_args", "twice"),
        ("/arvae/regen", [1, 0, 1, float("nan"), 0, 0, 0], "bad_args", "finite"),
        ("/arvae/clip/begin", [1, 0, 2000, 4.0], "too_large", "n_notes"),
        ("/arvae/clip/note", [1, 16, 0, 60, 0.0, 1.0, 100], "bad_args", "slot"),
        ("/arvae/clip/note", [1, 0, 0, 128, 0.0, 1.0, 100], "bad_args", "pitch"),
        ("/arvae/ping", [1, 2], "bad_args", "needs rid:i"),
        ("/arvae/hello", [1, 5, 9128, 1], "bad_args", "client must be a string"),
    ],
)
def test_bad_requests_get_codes(address, args, code, match):
    with pytest.raises(ProtocolError, match=match) as info:
        parse_request(address, args)
    assert info.value.code == code


def test_decoder_reads_what_python_osc_builds_and_refuses_other_types():
    b = OscMessageBuilder("/arvae/result/note")
    for a, t in ((3, "i"), (-1, "i"), (0.5, "f"), ("contour", "s"), ("", "s"), (2.25, "f")):
        b.add_arg(a, t)
    assert decode_message(b.build().dgram) == ("/arvae/result/note", [3, -1, 0.5, "contour", "", 2.25])
    b = OscMessageBuilder("/x")
    b.add_arg(True, "T")
    with pytest.raises(ValueError, match="type tag"):
        decode_message(b.build().dgram)
    with pytest.raises(ValueError):
        decode_message(encode_message("/arvae/ping", 1, 2.0)[:-2])
