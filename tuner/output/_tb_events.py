"""TensorBoard event files: tensorboardX's record framing, scalar events encoded here.

A result becomes one `Event{wall_time, step, summary{value{tag, simple_value}}}`. Building
those through the protobuf classes costs about 20 microseconds a result; writing the few fields
directly costs a fraction of it, and the loop may deliver thousands of results a second. The
bytes are standard protobuf (checked against tensorboardX's own `Event` parser in the tests);
rarer events (hyperparameters) still go through tensorboardX's protobuf classes.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from typing import Any

from tuner.output._tbx import tbx

_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")
_tags: dict[str, bytes] = {}


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # int64 fields: negatives as 10-byte two's complement, as protobuf does
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(key: int, payload: bytes) -> bytes:
    return bytes((key,)) + _varint(len(payload)) + payload


def _float32(value: float) -> bytes:
    try:
        return _FLOAT.pack(value)
    except OverflowError:  # beyond float32: TensorBoard shows an infinity
        return _FLOAT.pack(math.copysign(math.inf, value))


def _value_head(tag: str) -> bytes:
    """Everything of a `Summary.Value{tag, simple_value}` field but the 4 bytes of the value."""
    head = _tags.get(tag)
    if head is None:
        tag_field = _field(0x0A, tag.encode("utf-8"))  # Summary.Value.tag = 1
        # Summary.value = 1 (its length is fixed: the tag field, a key byte, 4 bytes of float),
        # then simple_value = 2 (a float32).
        head = _tags[tag] = b"\x0a" + _varint(len(tag_field) + 5) + tag_field + b"\x15"
    return head


def encode_scalars(wall_time: float, step: int, scalars: list[tuple[str, float]]) -> bytes:
    """A serialized `Event` holding one summary value per (tag, value)."""
    summary = b"".join([_value_head(tag) + _float32(value) for tag, value in scalars])
    # Event: wall_time = 1 (double), step = 2 (int64), summary = 5.
    return b"\x09" + _DOUBLE.pack(wall_time) + b"\x10" + _varint(step) + _field(0x2A, summary)


def encode_file_version(wall_time: float) -> bytes:
    """The first event of every file: `Event{wall_time, file_version: "brain.Event:2"}`."""
    return b"\x09" + _DOUBLE.pack(wall_time) + _field(0x1A, b"brain.Event:2")


class EventFile:
    """One TensorBoard event file in `directory`, named as tensorboardX names them."""

    def __init__(self, directory: str, suffix: str = "") -> None:
        record_writer = tbx()["tensorboardX.record_writer"]
        now = time.time()
        name = f"events.out.tfevents.{str(now)[:10]}.{socket.gethostname()}{suffix}"
        self.path = os.path.join(directory, name)
        self._records = record_writer.RecordWriter(self.path)
        self._records.write(encode_file_version(now))

    def write_scalars(self, wall_time: float, step: int, scalars: list[tuple[str, float]]) -> None:
        self._records.write(encode_scalars(wall_time, step, scalars))

    def write_event(self, event: Any) -> None:
        """Any tensorboardX `Event` protobuf (used for hyperparameters)."""
        self._records.write(event.SerializeToString())

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        self._records.flush()
        self._records.close()
