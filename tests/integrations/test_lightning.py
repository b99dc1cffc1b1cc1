"""PyTorch Lightning: real Trainers fit a tiny model on random tensors inside trials, with both
Lightning packages (``lightning`` and ``pytorch_lightning``), reporting every validation epoch
with a checkpoint the Trainer wrote; under PBT, paused and exploited trials resume their
Trainer from a checkpoint (their own or a donor's) at its epoch and global step.

Trials run in worker processes that import Lightning once (several seconds): the end-to-end
tests are `slow`.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.scripts import doc_code, example, run_python

pytest.importorskip("lightning")
pytest.importorskip("pytorch_lightning")

import torch

from tuner import (
    Checkpoint,
    FailureConfig,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)
from tuner.exceptions import TuneError
from tuner.integrations.lightning import (
    HOOKS,
    TuneReportCallback,
    TuneReportCheckpointCallback,
    checkpoint_path,
)

pytestmark = [
    # Lightning's own advice for tiny CPU runs, when a Trainer runs in this process.
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\).*:Warning"),
    pytest.mark.filterwarnings("ignore:.*number of training batches.*:UserWarning"),
]




STEPS_PER_EPOCH = 4  # 32 samples, batches of 8


def make_module(package: str) -> Any:
    """A tiny regression LightningModule of `package` that logs what the tests check."""
    pl = importlib.import_module(package)

    class Tiny(pl.LightningModule):  # type: ignore[name-defined]
        def __init__(self, lr: float) -> None:
            super().__init__()
            self.lr = lr
            self.net = torch.nn.Linear(4, 1)
            self.start = (-1.0, -1.0, 0.0)

        def on_train_start(self) -> None:
            # After a restore: the Trainer's position and weights as the checkpoint left them.
            weight = float(self.net.weight.detach().sum())
            self.start = (float(self.current_epoch), float(self.global_step), weight)
            for group in self.optimizers().param_groups:  # a new config's lr wins (PBT)
                group["lr"] = self.lr

        def training_step(self, batch: Any, index: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, index: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))
            self.log_dict({
                "epoch": float(self.current_epoch), "step": float(self.global_step),
                "start_epoch": self.start[0], "start_step": self.start[1],
                "start_weight": self.start[2],
                "weight": float(self.net.weight.detach().sum()),
                "optimizer_lr": float(self.optimizers().param_groups[0]["lr"]),
            })

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    return Tiny


def loader() -> Any:
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8 * STEPS_PER_EPOCH, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)


def train_fn(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    variant = config.get("variant", {})
    package = variant.get("package", "lightning")
    pl = importlib.import_module(package)
    if variant.get("callback") == "report":
        callback: Any = TuneReportCallback(on="train_epoch_end")
    else:
        callback = TuneReportCheckpointCallback(variant.get("metrics"), filename="model.ckpt")
    trainer = pl.Trainer(
        max_epochs=config["epochs"], accelerator="cpu", devices=1, logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        callbacks=[callback],
    )
    model = make_module(package)(config["lr"])
    trainer.fit(model, loader(), loader(), ckpt_path=checkpoint_path("model.ckpt"))


def rows(trial_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]


CHECKPOINTS = {"callback": "checkpoint", "metrics": {"loss": "val_loss", "epoch": "epoch",
                                                     "step": "step"}}


@pytest.mark.slow
def test_both_packages_report_each_validation_epoch_with_the_trainer_s_checkpoint(
    tmp_path: Path,
) -> None:
    grid = Tuner(
        train_fn,
        param_space={"lr": 0.05, "epochs": 3, "variant": grid_search([
            {"package": "lightning", **CHECKPOINTS},
            {"package": "pytorch_lightning", **CHECKPOINTS},
            {"package": "pytorch_lightning", "callback": "report"},
        ])},
        run_config=RunConfig(storage_path=str(tmp_path), name="fit"),
        executor=LocalExecutor(num_cpus=1),  # one worker: Lightning is imported once
    ).fit()
    assert not grid.errors, grid.errors
    results = {(r.config["variant"]["package"], r.config["variant"]["callback"]): r
               for r in grid}
    assert len(results) == 3
    for package in ("lightning", "pytorch_lightning"):
        result = results[package, "checkpoint"]
        history = rows(Path(result.path))
        # One result per validation epoch: the sanity check before training reported nothing.
        assert [(r["training_iteration"], r["epoch"], r["step"]) for r in history] == [
            (1, 0.0, 4.0), (2, 1.0, 8.0), (3, 2.0, 12.0)]
        assert {k for k in history[0] if k in ("loss", "epoch", "step", "val_loss",
                                                "train_loss")} == {"loss", "epoch", "step"}
        losses = [r["loss"] for r in history]
        assert losses == sorted(losses, reverse=True)  # it trains
        checkpoints = sorted(Path(result.path).glob("checkpoint_*"))
        assert [c.name for c in checkpoints] == [
            "checkpoint_000000", "checkpoint_000001", "checkpoint_000002"]
        for row, directory in zip(history, checkpoints, strict=True):
            saved = torch.load(directory / "model.ckpt", weights_only=False)
            assert (saved["epoch"], saved["global_step"]) == (row["epoch"], row["step"])
            assert set(saved["state_dict"]) == {"net.weight", "net.bias"}
    # TuneReportCallback(on="train_epoch_end"): every callback metric, no checkpoint.
    result = results["pytorch_lightning", "report"]
    history = rows(Path(result.path))
    assert [(r["training_iteration"], r["epoch"]) for r in history] == [
        (1, 0.0), (2, 1.0), (3, 2.0)]
    assert {"train_loss", "val_loss", "step"} <= set(history[0])
    assert result.checkpoint is None
    assert not list(Path(result.path).glob("checkpoint_*"))


@pytest.mark.slow
def test_pbt_resumes_trainers_from_checkpoints_at_their_epoch_and_step(tmp_path: Path) -> None:
    from schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(
        "training_iteration", perturbation_interval=2, quantile_fraction=0.5, synch=True,
        hyperparam_mutations={"lr": [0.005, 0.01, 0.02, 0.05, 0.1]}, seed=0,
    )
    grid = Tuner(
        train_fn,
        param_space={"lr": grid_search([0.005, 0.05]), "epochs": 4},
        tune_config=TuneConfig(metric="val_loss", mode="min", scheduler=pbt),
        run_config=RunConfig(storage_path=str(tmp_path), name="pbt"),
        executor=LocalExecutor(num_cpus=1),  # one worker: the trials take turns
    ).fit()
    assert not grid.errors, grid.errors
    # by their first lr (PBT changes a trial's config)
    histories = {round(rows(Path(r.path))[0]["optimizer_lr"], 4): rows(Path(r.path))
                 for r in grid}
    for history in histories.values():
        assert [r["training_iteration"] for r in history] == [1, 2, 3, 4]
        # Both were paused after epoch 1 (iteration 2) and resumed from a checkpoint of it:
        # the Trainer went on at epoch 2, global step 8, instead of starting over.
        assert [(r["epoch"], r["step"]) for r in history] == [
            (0.0, 4.0), (1.0, 8.0), (2.0, 12.0), (3.0, 16.0)]
        assert [(r["start_epoch"], r["start_step"]) for r in history] == [
            (0.0, 0.0), (0.0, 0.0), (1.0, 8.0), (1.0, 8.0)]
        assert [r["iterations_since_restore"] for r in history] == [1, 2, 1, 2]
    worse, better = histories[0.005], histories[0.05]
    assert worse[1]["val_loss"] > better[1]["val_loss"]
    # The worse trial exploited the better one: it resumed from the donor's checkpoint of
    # iteration 2 (its weights) with a new lr, which its optimizer then used.
    assert worse[2]["start_weight"] == pytest.approx(better[1]["weight"])
    assert better[2]["start_weight"] == pytest.approx(better[1]["weight"])
    assert worse[2]["optimizer_lr"] != pytest.approx(0.005)
    assert worse[3]["optimizer_lr"] == pytest.approx(worse[2]["optimizer_lr"])


def reports_a_checkpoint_then_fails(config: dict[str, Any]) -> None:
    path = checkpoint_path(config["filename"])
    if path is None:  # first attempt: no checkpoint yet
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.pt").write_text("w1")
            report({"step": 1}, checkpoint=Checkpoint.from_directory(d))
        raise RuntimeError("crash after the first checkpoint")
    report({"step": 2, "weights": Path(path).read_text(), "local": os.path.isfile(path)})


def test_checkpoint_path_is_a_local_file_on_every_storage_or_names_what_is_there(
    storage_url: str,
) -> None:
    grid = Tuner(
        reports_a_checkpoint_then_fails,
        param_space={"filename": grid_search(["checkpoint", "weights.pt"])},
        run_config=RunConfig(storage_path=storage_url, name="path", verbose=0,
                             failure_config=FailureConfig(max_failures=1)),
        executor=InProcessExecutor(),
    ).fit()
    by_name = {r.config["filename"]: r for r in grid}
    found = by_name["weights.pt"]
    assert found.error is None  # retried, found its file (downloaded if remote): step 2
    assert (found.metrics["step"], found.metrics["weights"], found.metrics["local"]) == (
        2, "w1", True)
    error = str(by_name["checkpoint"].error)
    assert "has no file 'checkpoint' (it holds ['weights.pt']): pass the filename=" in error


def test_outside_a_trial_checkpoint_path_and_the_callbacks_say_so() -> None:
    with pytest.raises(TuneError, match="get_checkpoint\\(\\) was called outside a trial"):
        checkpoint_path()
    for package in ("lightning", "pytorch_lightning"):
        pl = importlib.import_module(package)
        trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False,
                             enable_progress_bar=False, enable_model_summary=False,
                             enable_checkpointing=False, callbacks=[TuneReportCallback()])
        # The Trainer of each package takes the callback, and its setup refuses to run.
        with pytest.raises(TuneError, match=r"this Trainer runs outside one: call trainer\.fit"):
            trainer.fit(make_module(package)(0.1), loader(), loader())


@pytest.mark.parametrize(
    ("on", "message"),
    [
        ("on_validation_end", "leave out the 'on_' prefix: on='validation_end'"),
        ("epoch_end", "Lightning 2 removed it: use on='train_epoch_end'"),
        ("save_checkpoint", "would recurse"),
        ("bogus", "pick one of \\["),
        ([], "a hook name or a list"),
        (["validation_end", 3], "a hook name or a list"),
    ],
)
def test_bad_hooks_are_refused_with_the_fix(on: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        TuneReportCheckpointCallback(on=on)


def test_hooks_are_lightning_s_and_arguments_are_checked() -> None:
    assert {"validation_end", "train_epoch_end", "train_batch_end", "test_end",
            "fit_end"} <= HOOKS
    assert not {"save_checkpoint", "load_checkpoint", "exception"} & HOOKS
    callback = TuneReportCheckpointCallback(on=["train_batch_end", "test_end"])
    assert callback._on == {"train_batch_end", "test_end"}
    with pytest.raises(TypeError, match="`metrics` must be None"):
        TuneReportCheckpointCallback(metrics=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`metrics` must be None"):
        TuneReportCheckpointCallback(metrics={"loss": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="`filename` must be a plain file name"):
        TuneReportCheckpointCallback(filename=os.path.join("a", "b"))


def test_the_callbacks_are_callbacks_of_both_packages_and_under_ray_s_name() -> None:
    import lightning.pytorch
    import pytorch_lightning

    from tuner.integration import pytorch_lightning as ray_name

    callback = TuneReportCheckpointCallback()
    assert isinstance(callback, lightning.pytorch.Callback)
    assert isinstance(callback, pytorch_lightning.Callback)
    assert ray_name.TuneReportCheckpointCallback is TuneReportCheckpointCallback
    assert ray_name.TuneReportCallback is TuneReportCallback


def test_importing_tuner_integrations_imports_no_library() -> None:
    probe = ("import sys, tuner, tuner.integrations, tuner.integrations.mlflow, "
             "tuner.integrations.wandb; print(sorted(m for m in ('lightning', "
             "'pytorch_lightning', 'mlflow', 'wandb') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_docs_and_the_example_run(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("lightning.md"))
    out = run_python(tmp_path, example("lightning_example.py"))
    assert out.count(": 6 epochs, val_loss ") == 2
    assert out.count("resumed at global steps [8, 16]") == 2
    assert "best val_loss: " in out
