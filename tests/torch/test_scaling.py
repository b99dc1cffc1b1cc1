"""ScalingConfig and TorchConfig: validated on construction, with messages that say the fix."""

from __future__ import annotations

import pytest

from tuner.exceptions import ConfigError
from tuner.torch import TorchConfig
from tuner.torch._scaling import ScalingConfig


@pytest.mark.parametrize("num_workers", [0, -1, 1.5, True, "2"])
def test_num_workers_must_be_a_positive_int(num_workers: object) -> None:
    with pytest.raises(ConfigError, match=r"num_workers\) must be an int >= 1.*num_workers="):
        ScalingConfig(num_workers=num_workers)  # type: ignore[arg-type]


def test_group_resources_are_the_workers_added_up() -> None:
    assert ScalingConfig(num_workers=2).total_resources() == {"cpu": 2.0, "gpu": 0.0}
    scaling = ScalingConfig(num_workers=3, use_gpu=True, resources_per_worker={"CPU": 2})
    assert scaling.total_resources() == {"cpu": 6.0, "gpu": 3.0}
    assert ScalingConfig(resources_per_worker={"cpu": 0.5}).worker_resources()["cpu"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resources_per_worker": {"tpu": 1}}, "knows the keys 'cpu' and 'gpu', got 'tpu'"),
        ({"resources_per_worker": {"cpu": -1}}, "numbers >= 0, got cpu=-1"),
        ({"resources_per_worker": {"gpu": 1}}, "gpu=1 per worker but use_gpu=False"),
        ({"use_gpu": True, "resources_per_worker": {"gpu": 2}}, "exactly one GPU"),
        ({"use_gpu": "yes"}, "use_gpu\\) must be True or False"),
    ],
)
def test_bad_worker_resources_are_rejected(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ScalingConfig(**kwargs)  # type: ignore[arg-type]


def test_scaling_config_is_frozen() -> None:
    scaling = ScalingConfig(num_workers=2)
    with pytest.raises(AttributeError):
        scaling.num_workers = 3  # type: ignore[misc]


def test_torch_config_picks_the_backend_and_validates() -> None:
    assert TorchConfig().backend_for(use_gpu=False) == "gloo"
    assert TorchConfig().backend_for(use_gpu=True) == "nccl"
    assert TorchConfig(backend="gloo").backend_for(use_gpu=True) == "gloo"
    with pytest.raises(ConfigError, match="'gloo', 'nccl' or None"):
        TorchConfig(backend="mpi")
    with pytest.raises(ConfigError, match="report_timeout_s\\) must be > 0"):
        TorchConfig(report_timeout_s=0)
    with pytest.raises(ConfigError, match="timeout_s\\) must be > 0"):
        TorchConfig(timeout_s=-1)
