"""Toy PyTorch train loops under the names Ray Train's examples import (`ray.train.examples.pytorch`)."""
