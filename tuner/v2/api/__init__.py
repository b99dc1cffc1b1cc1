"""Ray Train V2's ``api`` package: the same objects as ``tuner`` and ``tuner.torch`` export."""
