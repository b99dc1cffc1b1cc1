"""Where trials run: worker processes (`LocalExecutor`), threads (`InProcessExecutor`), a Dask cluster, and the protocol between them and the event loop."""
