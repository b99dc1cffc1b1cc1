"""Toy trainables under the names Ray Tune's example scripts import (`ray.tune.examples.*`)."""
