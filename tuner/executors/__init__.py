"""Where trials run: worker processes (`LocalExecutor`), threads (`InProcessExecutor`), a Dask
cluster, a cluster simulated in virtual time (`SimulatedExecutor`), and the protocol between
them and the event loop."""
