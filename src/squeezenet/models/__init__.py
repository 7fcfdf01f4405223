"""SqueezeNet models: the Fire module, the network, the design space and the registry of names.

Loading weights into them is ``squeezenet.zoo`` (builders) and ``squeezenet.formats`` (files).
"""

from .config import SqueezeNetConfig
from .fire import Fire
from .registry import ARCHS, arch_config
from .squeezenet import SqueezeNet, state_shapes

__all__ = ["ARCHS", "Fire", "SqueezeNet", "SqueezeNetConfig", "arch_config", "state_shapes"]
