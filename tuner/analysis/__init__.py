"""Reading experiments back: `Result`, `ResultGrid`, the experiment reader, the CLI, plots."""
