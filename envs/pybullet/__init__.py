"""PyBullet backend: the Panda task envs (``wb/<Task>-pybullet-v0``), controllers, sensors and benchmarks."""
