"""What a trial writes: result.json, progress.csv, TensorBoard events, stdout/stderr files, progress lines, and the rewind after a crash."""
