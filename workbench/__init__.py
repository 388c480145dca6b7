"""Embodied Workbench: train, evaluate and replay robot-learning agents from one CLI."""

__version__ = "0.1.0"
