"""The train-loop helpers outside a worker group, the checkpoint merge, and early config errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tuner import RunConfig
from tuner.exceptions import ConfigError, TuneError
from tuner.torch import TorchTrainer, get_device, prepare_data_loader, prepare_model, shard
from tuner.torch._coordinator import merged_checkpoint
from tuner.torch._messages import RankReport
from tuner.torch._scaling import ScalingConfig


def test_outside_a_group_the_helpers_leave_things_as_they_are() -> None:
    assert get_device() == torch.device("cpu")
    model = torch.nn.Linear(2, 1)
    assert prepare_model(model) is model
    loader = DataLoader(TensorDataset(torch.arange(6.0)), batch_size=2)
    assert prepare_data_loader(loader) is loader
    data = [1, 2, 3]
    assert shard(data) is data
    with pytest.raises(ConfigError, match="'ddp' or None"):
        prepare_model(model, parallel_strategy="fsdp")


def _report(rank: int, directory: Path | None) -> RankReport:
    return RankReport(rank, 1, {}, None if directory is None else str(directory))


def test_checkpoint_files_of_all_ranks_are_merged_and_rank_0_wins(tmp_path: Path) -> None:
    dirs = [tmp_path / f"r{rank}" for rank in range(3)]
    for rank, directory in enumerate(dirs):
        (directory / "sub").mkdir(parents=True)
        (directory / "shared.txt").write_text(f"rank {rank}")
        (directory / "sub" / f"own_{rank}.txt").write_text("x")
    with merged_checkpoint([_report(r, d) for r, d in enumerate(dirs)]) as merged:
        assert merged is not None
        assert Path(merged, "shared.txt").read_text() == "rank 0"
        assert sorted(p.name for p in Path(merged, "sub").iterdir()) == [
            "own_0.txt", "own_1.txt", "own_2.txt"
        ]
    assert not Path(merged).exists()


def test_one_rank_with_files_is_used_in_place(tmp_path: Path) -> None:
    (tmp_path / "r0").mkdir()
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "model.pt").write_text("w")
    reports = [_report(0, tmp_path / "r0"), _report(1, tmp_path / "r1")]
    with merged_checkpoint(reports) as merged:
        assert merged == str(tmp_path / "r1")
    with merged_checkpoint([_report(0, None), _report(1, None)]) as merged:
        assert merged is None
    with merged_checkpoint([_report(0, tmp_path / "r0"), _report(1, None)]) as merged:
        assert merged == str(tmp_path / "r0")  # an empty checkpoint is still a checkpoint


def test_use_gpu_without_gpus_fails_before_any_process_starts(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has GPUs")
    trainer = TorchTrainer(
        lambda config: None,
        scaling_config=ScalingConfig(num_workers=2, use_gpu=True),
        run_config=RunConfig(storage_path=str(tmp_path), name="gpu", verbose=0),
    )
    with pytest.raises(ConfigError, match=r"num_workers=2, use_gpu=True\) needs one GPU per "
                       r"worker, but torch sees 0.*set use_gpu=False"):
        trainer.fit()
    assert not (tmp_path / "gpu").exists()


def test_bad_trainer_arguments_are_rejected() -> None:
    with pytest.raises(ConfigError, match="must be a function"):
        TorchTrainer(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="take one argument \\(config\\) or none"):
        TorchTrainer(lambda a, b: None)
    with pytest.raises(ConfigError, match="train_loop_config must be a dict"):
        TorchTrainer(lambda: None, train_loop_config=[1])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="scaling_config must be a ScalingConfig"):
        TorchTrainer(lambda: None, scaling_config={"num_workers": 2})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_workers\\) must be an int >= 1"):
        TorchTrainer(lambda: None, scaling_config=ScalingConfig(num_workers=0))


def test_the_group_trainable_rejects_unknown_param_space_keys() -> None:
    trainable = TorchTrainer(lambda: None).as_trainable().trainable
    with pytest.raises(ConfigError, match="takes the keys 'train_loop_config' and 'scaling_config' only, got \\['lr'\\]"):
        trainable({"lr": 0.1})
    with pytest.raises(TuneError, match="outside a trial"):
        trainable({"train_loop_config": {"lr": 0.1}})
