"""Training loop, checkpoints, devices and data loading."""
