"""The hand-encoded hparams events parse as those tensorboardX's `summary.hparams` makes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.output._tb_hparams import hparams_events
from tuner.output._tbx import tbx


def expected_events(hparams: dict[str, Any], metrics: dict[str, float], wall_time: float) -> list[Any]:
    modules = tbx()
    event_class = modules["tensorboardX.proto.event_pb2"].Event
    summaries = modules["tensorboardX.summary"].hparams(hparams, metrics)
    return [event_class(wall_time=wall_time, summary=summary) for summary in summaries]


def readable(event: Any) -> tuple[Any, ...]:
    """An event with its plugin data parsed: map entries may come in any order in the bytes."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    (value,) = event.summary.value
    plugin = value.metadata.plugin_data
    content = HParamsPluginData.FromString(plugin.content)
    value.metadata.plugin_data.content = b""
    return event, plugin.plugin_name, content


def parsed(events: list[bytes]) -> list[Any]:
    event_class = tbx()["tensorboardX.proto.event_pb2"].Event
    return [event_class.FromString(data) for data in events]


values = (
    st.text(max_size=20)
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False)
)


@settings(deadline=None)  # the first example imports tensorboardX's protobuf modules
@given(
    hparams=st.dictionaries(st.text(max_size=20), values, max_size=8),
    metrics=st.lists(st.text(max_size=20), max_size=5, unique=True),
    wall_time=st.floats(0, 2e9),
)
def test_the_same_events_as_tensorboardx_makes(
    hparams: dict[str, Any], metrics: list[str], wall_time: float
) -> None:
    metric_dict = dict.fromkeys(metrics, 1.0)
    ours = parsed(hparams_events(hparams, metric_dict, wall_time=wall_time))
    expected = expected_events(hparams, metric_dict, wall_time)
    assert [readable(e) for e in ours] == [readable(e) for e in expected]


def test_tags_and_values_as_tensorboard_reads_them() -> None:
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    events = parsed(hparams_events({"lr": 0.5, "opt": "adam", "bn": False}, ["tune/loss"],
                                   wall_time=3.0))
    assert [e.summary.value[0].tag for e in events] == [
        "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info",
    ]
    start = HParamsPluginData.FromString(events[1].summary.value[0].metadata.plugin_data.content)
    assert start.session_start_info.hparams["lr"].number_value == 0.5
    assert start.session_start_info.hparams["opt"].string_value == "adam"
    assert start.session_start_info.hparams["bn"].HasField("bool_value")
    experiment = HParamsPluginData.FromString(
        events[0].summary.value[0].metadata.plugin_data.content
    ).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["tune/loss"]
    assert all(e.wall_time == 3.0 for e in events)


def test_an_int_beyond_any_double_is_written_as_its_digits() -> None:
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    event = parsed(hparams_events({"n": 10**400}, [], wall_time=1.0))[1]
    start = HParamsPluginData.FromString(event.summary.value[0].metadata.plugin_data.content)
    assert start.session_start_info.hparams["n"].string_value == str(10**400)
