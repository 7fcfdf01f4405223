"""SqueezeNet: AlexNet-level accuracy with 50x fewer parameters, as a toolkit."""

__version__ = "0.1.0"
