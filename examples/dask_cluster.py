"""Running trials on a Dask cluster: the same experiment, one argument changed.

Starts a local Dask cluster of two worker processes (on a real cluster, pass its scheduler
address instead: `DaskExecutor("tcp://scheduler:8786")`) and runs a small search on it. Every
trial runs on a Dask worker; results stream back to this script.

Run: python examples/dask_cluster.py   (needs dask: pip install 'tuner[dask]')
"""

from __future__ import annotations

import tempfile

from dask.distributed import Client, LocalCluster

from tuner import DaskExecutor, RunConfig, TuneConfig, Tuner, loguniform, report


def train_fn(config: dict) -> None:
    for step in range(10):
        report({"loss": (config["lr"] - 0.01) ** 2 / (step + 1)})


def main() -> None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        grid = Tuner(
            train_fn,
            param_space={"lr": loguniform(1e-4, 1e-1)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=8, seed=1),
            run_config=RunConfig(
                name="dask_cluster",
                storage_path=tempfile.mkdtemp(prefix="tuner-dask-"),
                verbose=0,
            ),
            executor=DaskExecutor(client),
        ).fit()
    best = grid.get_best_result()
    print(f"{grid.num_terminated} trials ran on the Dask cluster's workers")
    print(f"best lr={best.config['lr']:.5f} loss={best.metrics['loss']:.3g}")


if __name__ == "__main__":
    main()
