"""Training: the paper's recipe, one process or many (torchrun / DDP), kill-safe and resumable."""
