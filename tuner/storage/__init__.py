"""Storage and checkpoints: fsspec filesystems, names that become directories, checkpoints, their bookkeeping and retention, the syncer."""
