"""Experiment state: the JSON state file, its schema, the experiment lock, and restore."""
