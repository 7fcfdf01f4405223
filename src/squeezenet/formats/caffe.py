"""The authors' Caffe release: ``deploy.prototxt`` (architecture) + ``.caffemodel`` (weights).

Blob shapes come either as ``BlobShape`` or as the older num/channels/height/width fields;
both are read, and both can be written (``write_caffemodel``), which is how the tests build
Caffe files from known tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from ..errors import SqueezeNetError
from ..models.config import LAYOUTS, NUM_FIRE, SqueezeNetConfig
from ..models.names import FIRE_PARTS, conv_paths
from ..utils.atomic import write_bytes
from .architecture import config_from_widths
from .caffe_proto import BlobProto, NetParameter

_MAX_POOL = 0


def read_prototxt(path: str | Path) -> NetParameter:
    net = NetParameter()
    try:
        text_format.Parse(Path(path).read_text(), net, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise SqueezeNetError(f"{path}: not a readable Caffe prototxt ({str(exc).splitlines()[0]})") from None
    return net


def config_from_prototxt(net: NetParameter) -> SqueezeNetConfig:
    """The SqueezeNet config a deploy/train_val prototxt describes (layout, widths, conv10 pad)."""
    convs = {layer.name: layer.convolution_param for layer in net.layer if layer.type == "Convolution"}
    missing = [n for n in ("conv1", "conv10") if n not in convs]
    if missing:
        raise SqueezeNetError(f"prototxt has no {missing[0]} layer; not a SqueezeNet release")
    pooled = [
        layer.bottom[0] for layer in net.layer if layer.type == "Pooling" and layer.pooling_param.pool == _MAX_POOL
    ]
    pools_after = tuple(b.split("/")[0] for b in pooled)
    layout = next((name for name, spec in LAYOUTS.items() if spec["pool_after"] == pools_after), None)
    if layout is None:
        raise SqueezeNetError(f"max pools after {pools_after} match no SqueezeNet layout")
    widths = []
    for n in range(2, 2 + NUM_FIRE):
        try:
            widths.append(tuple(convs[f"fire{n}/{part}"].num_output for part in list(FIRE_PARTS)[:3]))
        except KeyError:
            raise SqueezeNetError(f"prototxt lacks the layers of fire{n}") from None
    conv1, conv10 = convs["conv1"], convs["conv10"]
    return config_from_widths(
        widths,
        what="the prototxt",
        layout=layout,
        num_classes=conv10.num_output,
        conv10_pad=conv10.pad[0] if conv10.pad else 0,
        stem="imagenet" if list(conv1.kernel_size[:1]) == [LAYOUTS[layout]["conv1"][1]] else "small",
    )


def caffe_to_torch_names(config: SqueezeNetConfig) -> dict[str, str]:
    """Caffe layer name -> torchvision module prefix (``fire2/squeeze1x1`` -> ``features.3.squeeze``)."""
    return conv_paths(config)


def _blob_to_tensor(blob: BlobProto) -> torch.Tensor:
    if blob.HasField("shape"):
        shape = tuple(blob.shape.dim)
    else:
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = np.asarray(blob.double_data if len(blob.double_data) else blob.data, dtype=np.float32)
    if values.size != int(np.prod(shape)):
        raise SqueezeNetError(f"blob holds {values.size} values but declares shape {shape}")
    return torch.from_numpy(values.reshape(shape).copy())


def read_caffemodel(path: str | Path) -> dict[str, list[torch.Tensor]]:
    """Layer name -> its blobs (weight, bias) as float32 tensors."""
    net = NetParameter()
    try:
        net.ParseFromString(Path(path).read_bytes())
    except DecodeError:
        raise SqueezeNetError(f"{path}: not a Caffe .caffemodel (protobuf decode failed)") from None
    layers = list(net.layer) + list(net.layers)
    blobs = {layer.name: [_blob_to_tensor(b) for b in layer.blobs] for layer in layers if len(layer.blobs)}
    if not blobs:
        raise SqueezeNetError(f"{path}: no weights found in this .caffemodel")
    return blobs


def caffe_state_dict(blobs: Mapping[str, list[torch.Tensor]], config: SqueezeNetConfig) -> dict[str, torch.Tensor]:
    """Caffe blobs -> a torchvision-layout state dict for ``config``."""
    state = {}
    for caffe_name, prefix in caffe_to_torch_names(config).items():
        if caffe_name not in blobs or len(blobs[caffe_name]) != 2:
            raise SqueezeNetError(f"caffemodel lacks weight and bias for layer {caffe_name}")
        weight, bias = blobs[caffe_name]
        state[f"{prefix}.weight"] = weight
        state[f"{prefix}.bias"] = bias.reshape(-1)  # legacy 4-D bias blobs are (1, 1, 1, N)
    return state


def write_caffemodel(path: str | Path, blobs: Mapping[str, list[torch.Tensor]], *, legacy_shape: bool = False) -> None:
    """Write layer blobs as a binary NetParameter; ``legacy_shape`` uses num/channels/height/width."""
    net = NetParameter(name="SqueezeNet")
    for name, tensors in blobs.items():
        layer = net.layer.add(name=name, type="Convolution")
        for tensor in tensors:
            blob = layer.blobs.add()
            if legacy_shape:
                dims = [1] * (4 - tensor.dim()) + list(tensor.shape)
                blob.num, blob.channels, blob.height, blob.width = dims
            else:
                blob.shape.dim.extend(tensor.shape)
            blob.data.extend(tensor.detach().to(torch.float32).flatten().tolist())
    write_bytes(path, net.SerializeToString())
