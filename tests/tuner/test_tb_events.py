"""The hand-encoded TensorBoard events parse as tensorboardX's own `Event` protobufs."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuner.output._tb_events import EventFile, encode_file_version, encode_scalars
from tuner.output._tbx import tbx


def parse(data: bytes) -> object:
    return tbx()["tensorboardX.proto.event_pb2"].Event.FromString(data)


@given(
    wall_time=st.floats(0, 2e9),
    step=st.integers(-(2**63), 2**63 - 1),
    scalars=st.lists(
        st.tuples(st.text(min_size=1, max_size=40), st.floats(allow_nan=False, width=32)),
        max_size=20,
    ),
)
def test_scalar_events_match_the_protobuf_encoding(
    wall_time: float, step: int, scalars: list[tuple[str, float]]
) -> None:
    event = parse(encode_scalars(wall_time, step, scalars))
    assert event.wall_time == wall_time
    assert event.step == step
    assert [(v.tag, v.simple_value) for v in event.summary.value] == scalars


def test_values_beyond_float32_become_infinities() -> None:
    event = parse(encode_scalars(1.0, 1, [("big", 1e300), ("small", -1e300), ("nan", math.nan)]))
    values = [v.simple_value for v in event.summary.value]
    assert values[:2] == [math.inf, -math.inf] and math.isnan(values[2])


def test_file_version_event() -> None:
    event = parse(encode_file_version(5.0))
    assert event.file_version == "brain.Event:2" and event.wall_time == 5.0


def test_event_file_records_have_valid_checksums(tmp_path: Path) -> None:
    masked_crc32c = tbx()["tensorboardX.record_writer"].masked_crc32c
    events = EventFile(str(tmp_path), ".0")
    events.write_scalars(10.0, 3, [("tune/loss", 0.5)])
    events.close()
    data = Path(events.path).read_bytes()
    records = []
    while data:
        (length,) = struct.unpack("<Q", data[:8])
        assert struct.unpack("<I", data[8:12])[0] == masked_crc32c(data[:8])
        payload = data[12 : 12 + length]
        assert struct.unpack("<I", data[12 + length : 16 + length])[0] == masked_crc32c(payload)
        records.append(parse(payload))
        data = data[16 + length :]
    assert records[0].file_version == "brain.Event:2"
    assert records[1].summary.value[0].tag == "tune/loss"
    assert records[1].summary.value[0].simple_value == pytest.approx(0.5)
