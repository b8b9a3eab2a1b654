"""Training on CPU (and GPU): data, rate–distortion losses, the trainer and its checkpoints."""
