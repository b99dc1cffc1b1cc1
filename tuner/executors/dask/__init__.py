"""Trials on a Dask cluster (`DaskExecutor`): placement, slots, storage checks, the listener."""
