"""TensorBoard event files: TFRecord framing and scalar events, encoded here.

A result becomes one `Event{wall_time, step, summary{value{tag, simple_value}}}`. Building
those through the protobuf classes costs about 20 microseconds a result; writing the few fields
directly costs a fraction of it, and the loop may deliver thousands of results a second. The
bytes are standard protobuf (checked against tensorboardX's own `Event` parser in the tests), as
are those of the hyperparameters (`tuner.output._tb_hparams`). Records are framed here too
(tensorboardX's `RecordWriter` writes each in four calls and fsyncs per flush), with the
CRC-32C of the `crc32c` package, which tensorboardX uses too.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import IO, Any

from tuner.output._file_thread import in_background
from tuner.output._files import open_creating
from tuner.output._tbx import tbx

_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_tags: dict[str, bytes] = {}
_BYTES = [bytes((n,)) for n in range(0x80)]
_HOST = socket.gethostname()


def _varint(n: int) -> bytes:
    if 0 <= n < 0x4000:  # steps and lengths, mostly: one or two bytes
        return _BYTES[n] if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7))
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


class ScalarLayout:
    """Events whose scalars have fixed tags, in a fixed order, built with one `struct` call
    each instead of a few per value (the same bytes as `encode_scalars`).

    Example:
        >>> layout = ScalarLayout(["tune/loss", "tune/acc"])
        >>> layout.encode(1.0, 3, (0.5, 0.25)) == encode_scalars(
        ...     1.0, 3, [("tune/loss", 0.5), ("tune/acc", 0.25)])
        True
    """

    def __init__(self, tags: list[str]) -> None:
        heads = [_value_head(tag) for tag in tags]
        self._summary = "".join(f"{len(head)}sf" for head in heads)
        length = b"\x2a" + _varint(struct.calcsize("<" + self._summary))  # Event.summary = 5
        # Event: wall_time = 1 (double), step = 2 (int64, a varint), summary = 5.
        self._args: list[Any] = [0x09, 0.0, 0x10, b"", length]
        self._args += [part for head in heads for part in (head, 0.0)]
        self._structs: dict[int, struct.Struct] = {}
        """By the length of the step's varint."""

    def encode(self, wall_time: float, step: int, values: tuple[float, ...]) -> bytes:
        """A serialized `Event`; `OverflowError` if a value does not fit a float32."""
        step_bytes = _varint(step)
        packer = self._structs.get(len(step_bytes))
        if packer is None:
            packer = self._structs[len(step_bytes)] = struct.Struct(
                f"<BdB{len(step_bytes)}s{len(self._args[4])}s{self._summary}"
            )
        args = self._args.copy()
        args[1] = wall_time
        args[3] = step_bytes
        args[6::2] = values
        return packer.pack(*args)


def encode_file_version(wall_time: float) -> bytes:
    """The first event of every file: `Event{wall_time, file_version: "brain.Event:2"}`."""
    return b"\x09" + _DOUBLE.pack(wall_time) + _field(0x1A, b"brain.Event:2")


_crc32c: Callable[[bytes], int] | None = None


def _crc32c_function() -> Callable[[bytes], int]:
    """CRC-32C: the C one of the `crc32c` package (a dependency), else tensorboardX's own.

    As tensorboardX does, the package is imported in its "auto" mode, which falls back to its
    software implementation on processors without the instruction instead of warning.
    """
    global _crc32c
    if _crc32c is None:
        os.environ.setdefault("CRC32C_SW_MODE", "auto")
        try:
            from crc32c import crc32c
        except ImportError:
            crc32c = tbx()["tensorboardX.crc32c"].crc32c
        _crc32c = crc32c
    return _crc32c


def _masked_crc(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated and offset (as tensorboardX's `masked_crc32c`)."""
    crc = _crc32c_function()(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


_headers: dict[int, bytes] = {}
"""A record's first 12 bytes (its length and their checksum), by length."""


def frame(payloads: list[bytes]) -> bytes:
    """`payloads` as TFRecords: each its length, their checksum, itself, its checksum."""
    parts: list[bytes] = []
    append, headers, crc32c, pack = parts.append, _headers, _crc32c_function(), _CRC.pack
    for payload in payloads:
        header = headers.get(len(payload))
        if header is None:
            if len(headers) > 4096:
                headers.clear()
            length = _LENGTH.pack(len(payload))
            header = headers[len(payload)] = length + pack(_masked_crc(length))
        crc = crc32c(payload)
        append(header)
        append(payload)
        append(pack(((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF))
    return b"".join(parts)


class EventFile:
    """One TensorBoard event file in `directory`, named as tensorboardX names them.

    Records are kept in memory until `flush()`, which writes them in one call and hands them
    to the operating system, without an fsync: what must survive a crash is what the
    experiment state counts, and a rewind cuts event files back to that (see
    `tuner.output._rewind`). tensorboardX's `RecordWriter` fsyncs on every flush, which cost
    a large run 8 s of 108. `close()` closes the file; a later write or flush opens it again
    and appends. The file is made on the output files' thread (`tuner.output._file_thread`):
    what needs it (`path`, `flush()`) waits for it.
    """

    def __init__(self, directory: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        # Names hold the second the file was made, then a number: the first free one, so that
        # a trial started again within the same second writes a file of its own.
        prefix = os.path.join(directory, f"events.out.tfevents.{str(now)[:10]}.{_HOST}.")
        self._made: Future[tuple[str, IO[bytes]]] | None = in_background(_create, prefix)
        self._path = ""
        self._file: IO[bytes] | None = None
        self._events: list[bytes] = [encode_file_version(now)]
        """Serialized events not written yet."""

    def _wait_made(self) -> None:
        if self._made is not None:
            made, self._made = self._made, None
            self._path, self._file = made.result()  # what creating it raised, if it failed

    @property
    def path(self) -> str:
        self._wait_made()
        return self._path

    @property
    def is_open(self) -> bool:
        self._wait_made()
        return self._file is not None

    def write_scalars(self, wall_time: float, step: int, scalars: list[tuple[str, float]]) -> None:
        self._events.append(encode_scalars(wall_time, step, scalars))

    def add(self, event: bytes) -> int:
        """An event serialized already (by a `ScalarLayout`); how many wait to be written now."""
        events = self._events
        events.append(event)
        return len(events)

    def write_encoded(self, events: list[bytes]) -> None:
        """Events serialized already (by a `ScalarLayout`, or `hparams_events`)."""
        self._events += events

    def flush(self) -> None:
        if not self._events:
            return
        self._wait_made()
        if self._file is None:
            self._file = open_creating(self._path, "ab")
        self._file.write(frame(self._events))
        self._events.clear()
        self._file.flush()

    def close(self) -> None:
        self.flush()
        self._wait_made()
        if self._file is not None:
            self._file.close()
            self._file = None


def _create(prefix: str) -> tuple[str, IO[bytes]]:
    """The first free event file name with `prefix` and a number, and that file, made."""
    number = 0
    while True:
        try:
            return f"{prefix}{number}", open_creating(f"{prefix}{number}", "xb")
        except FileExistsError:
            number += 1
