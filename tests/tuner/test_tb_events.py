"""The hand-encoded TensorBoard events parse as tensorboardX's own `Event` protobufs."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import crc32c
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuner.output._tb_events import EventFile, ScalarLayout, encode_file_version, encode_scalars
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


@given(
    wall_time=st.floats(0, 2e9),
    step=st.integers(0, 2**63 - 1),
    values=st.lists(st.floats(width=32) | st.integers(-(2**24), 2**24) | st.booleans(),
                    max_size=20),
)
def test_a_layout_encodes_as_encode_scalars_does(
    wall_time: float, step: int, values: list[float]
) -> None:
    tags = [f"tune/m{i}" for i in range(len(values))]
    expected = encode_scalars(wall_time, step, [(t, float(v)) for t, v in zip(tags, values, strict=True)])
    assert ScalarLayout(tags).encode(wall_time, step, tuple(values)) == expected


def test_values_beyond_float32_become_infinities() -> None:
    event = parse(encode_scalars(1.0, 1, [("big", 1e300), ("small", -1e300), ("nan", math.nan)]))
    values = [v.simple_value for v in event.summary.value]
    assert values[:2] == [math.inf, -math.inf] and math.isnan(values[2])


def test_file_version_event() -> None:
    event = parse(encode_file_version(5.0))
    assert event.file_version == "brain.Event:2" and event.wall_time == 5.0


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C, from the format's definition (not the code under test)."""
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_event_file_records_have_valid_checksums(tmp_path: Path) -> None:
    events = EventFile(str(tmp_path))
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


def test_a_closed_event_file_opens_again_and_appends(tmp_path: Path) -> None:
    events = EventFile(str(tmp_path))
    events.write_scalars(1.0, 1, [("tune/loss", 1.0)])
    events.close()
    assert not events.is_open
    events.write_scalars(2.0, 2, [("tune/loss", 0.5)])
    events.flush()
    events.close()
    data = Path(events.path).read_bytes()
    steps = []
    while data:
        (length,) = struct.unpack("<Q", data[:8])
        event = parse(data[12 : 12 + length])
        if event.HasField("summary"):
            steps.append(event.step)
        data = data[16 + length :]
    assert steps == [1, 2]


def test_flushing_and_closing_never_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr("os.fsync", calls.append)
    events = EventFile(str(tmp_path))
    for step in range(5):
        events.write_scalars(1.0, step, [("tune/loss", 1.0)])
        events.flush()
    events.close()
    assert calls == []


def test_files_made_in_the_same_second_get_names_of_their_own(tmp_path: Path) -> None:
    files = [EventFile(str(tmp_path)) for _ in range(3)]
    for events in files:
        events.close()
    assert len({events.path for events in files}) == 3
    assert all(Path(events.path).stat().st_size > 0 for events in files)
