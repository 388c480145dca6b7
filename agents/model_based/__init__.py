"""Model-based RL: a probabilistic dynamics ensemble, batched planners (CEM, MPPI) and PETS."""
