"""A trial's hyperparameters for TensorBoard's hparams plugin, as events encoded here.

The same three summaries as tensorboardX's `summary.hparams`: the experiment (each
hyperparameter's name and type, each metric's tag), the session's start (the values) and its end
(success), each in an event of its own. Writing these few protobuf fields directly spares the
loggers tensorboardX's protobuf modules, which cost tens of milliseconds to import when the
first trial ends, while the event loop waits; the tests parse these events with them.

Example:
    >>> events = hparams_events({"lr": 0.1, "opt": "adam"}, ["tune/loss"], wall_time=1.0)
    >>> len(events)
    3
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from tuner.output._tb_events import _field

_DOUBLE = struct.Struct("<d")
_PLUGIN_NAME = b"hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_TAG = "_hparams_/session_start_info"
SESSION_END_TAG = "_hparams_/session_end_info"

# DataType of an HParamInfo (tensorboard/plugins/hparams/api.proto).
_STRING, _BOOL, _FLOAT64 = 1, 2, 3
_STATUS_SUCCESS = 1


def _text(key: int, text: str) -> bytes:
    # proto3 leaves out a field at its default value: an empty string.
    return _field(key, text.encode("utf-8")) if text else b""


def _value(value: bool | int | float | str) -> tuple[int, bytes]:
    """A hyperparameter's DataType and its `google.protobuf.Value` (a oneof: always written)."""
    if isinstance(value, str):
        return _STRING, _field(0x1A, value.encode("utf-8"))  # Value.string_value = 3
    if isinstance(value, bool):
        return _BOOL, b"\x20\x01" if value else b"\x20\x00"  # Value.bool_value = 4
    try:
        return _FLOAT64, b"\x11" + _DOUBLE.pack(float(value))  # Value.number_value = 2
    except OverflowError:  # an int beyond any double: shown as its digits
        return _value(str(value))


def _summary(tag: str, content: bytes) -> bytes:
    """A `Summary` of one value that holds `content` as the hparams plugin's data."""
    plugin_data = _field(0x0A, _PLUGIN_NAME) + _field(0x12, content)  # plugin_name = 1, content = 2
    metadata = _field(0x0A, plugin_data)  # SummaryMetadata.plugin_data = 1
    value = _text(0x0A, tag) + _field(0x4A, metadata)  # Summary.Value: tag = 1, metadata = 9
    return _field(0x0A, value)  # Summary.value = 1


def hparams_events(
    hparams: Mapping[str, bool | int | float | str], metrics: Iterable[str], *, wall_time: float
) -> list[bytes]:
    """The serialized events of the experiment, session-start and session-end summaries.

    Args:
        hparams: The hyperparameters by name (flattened keys), as plain values.
        metrics: The tags of the metrics TensorBoard should show beside them.
        wall_time: The events' time.
    """
    infos: list[bytes] = []
    values: list[bytes] = []
    for name, value in hparams.items():
        kind, encoded = _value(value)
        infos.append(_field(0x22, _text(0x0A, name) + b"\x20" + bytes((kind,))))  # hparam_infos = 4
        # A map entry (key = 1, value = 2) has both fields, the empty key too, as protobuf writes it.
        entry = _field(0x0A, name.encode("utf-8")) + _field(0x12, encoded)
        values.append(_field(0x0A, entry))  # SessionStartInfo.hparams = 1
    for tag in metrics:
        # Experiment.metric_infos = 5 -> MetricInfo.name = 1 -> MetricName.tag = 2
        infos.append(_field(0x2A, _field(0x0A, _text(0x12, tag))))
    # HParamsPluginData: version = 1 (0, so left out), then experiment = 2, session_start_info =
    # 3 or session_end_info = 4 (whose status = 1).
    contents = (
        (EXPERIMENT_TAG, _field(0x12, b"".join(infos))),
        (SESSION_START_TAG, _field(0x1A, b"".join(values))),
        (SESSION_END_TAG, _field(0x22, b"\x08" + bytes((_STATUS_SUCCESS,)))),
    )
    # Event: wall_time = 1 (double), summary = 5.
    head = b"\x09" + _DOUBLE.pack(wall_time)
    return [head + _field(0x2A, _summary(tag, content)) for tag, content in contents]
