"""The subset of Caffe's ``caffe.proto`` that SqueezeNet files use, built at import time.

Caffe has no PyPI package, and compiling ``caffe.proto`` needs protoc at build time; the
protobuf runtime can instead be handed the message descriptors directly. Field numbers are
Caffe's own, so real ``.caffemodel`` and ``.prototxt`` files parse; fields outside this
subset are skipped (binary) or ignored (text, ``allow_unknown_field``).
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# (message, [(field name, number, label, type, type_name or None, packed)])
_MESSAGES = {
    "BlobShape": [("dim", 1, _REP, _F.TYPE_INT64, None, True)],
    "BlobProto": [
        ("shape", 7, _OPT, _F.TYPE_MESSAGE, ".caffe.BlobShape", False),
        ("data", 5, _REP, _F.TYPE_FLOAT, None, True),
        ("diff", 6, _REP, _F.TYPE_FLOAT, None, True),
        ("double_data", 8, _REP, _F.TYPE_DOUBLE, None, True),
        ("num", 1, _OPT, _F.TYPE_INT32, None, False),
        ("channels", 2, _OPT, _F.TYPE_INT32, None, False),
        ("height", 3, _OPT, _F.TYPE_INT32, None, False),
        ("width", 4, _OPT, _F.TYPE_INT32, None, False),
    ],
    "ConvolutionParameter": [
        ("num_output", 1, _OPT, _F.TYPE_UINT32, None, False),
        ("bias_term", 2, _OPT, _F.TYPE_BOOL, None, False),
        ("pad", 3, _REP, _F.TYPE_UINT32, None, False),
        ("kernel_size", 4, _REP, _F.TYPE_UINT32, None, False),
        ("group", 5, _OPT, _F.TYPE_UINT32, None, False),
        ("stride", 6, _REP, _F.TYPE_UINT32, None, False),
        ("pad_h", 9, _OPT, _F.TYPE_UINT32, None, False),
        ("pad_w", 10, _OPT, _F.TYPE_UINT32, None, False),
        ("kernel_h", 11, _OPT, _F.TYPE_UINT32, None, False),
        ("kernel_w", 12, _OPT, _F.TYPE_UINT32, None, False),
        ("stride_h", 13, _OPT, _F.TYPE_UINT32, None, False),
        ("stride_w", 14, _OPT, _F.TYPE_UINT32, None, False),
    ],
    "PoolingParameter": [
        ("pool", 1, _OPT, _F.TYPE_ENUM, ".caffe.PoolingParameter.PoolMethod", False),
        ("kernel_size", 2, _OPT, _F.TYPE_UINT32, None, False),
        ("stride", 3, _OPT, _F.TYPE_UINT32, None, False),
        ("pad", 4, _OPT, _F.TYPE_UINT32, None, False),
        ("global_pooling", 12, _OPT, _F.TYPE_BOOL, None, False),
    ],
    "DropoutParameter": [("dropout_ratio", 1, _OPT, _F.TYPE_FLOAT, None, False)],
    "LayerParameter": [
        ("name", 1, _OPT, _F.TYPE_STRING, None, False),
        ("type", 2, _OPT, _F.TYPE_STRING, None, False),
        ("bottom", 3, _REP, _F.TYPE_STRING, None, False),
        ("top", 4, _REP, _F.TYPE_STRING, None, False),
        ("blobs", 7, _REP, _F.TYPE_MESSAGE, ".caffe.BlobProto", False),
        ("convolution_param", 106, _OPT, _F.TYPE_MESSAGE, ".caffe.ConvolutionParameter", False),
        ("dropout_param", 108, _OPT, _F.TYPE_MESSAGE, ".caffe.DropoutParameter", False),
        ("pooling_param", 121, _OPT, _F.TYPE_MESSAGE, ".caffe.PoolingParameter", False),
    ],
    # The pre-2015 layer message ("layers" in NetParameter); only what carries weights.
    "V1LayerParameter": [
        ("bottom", 2, _REP, _F.TYPE_STRING, None, False),
        ("top", 3, _REP, _F.TYPE_STRING, None, False),
        ("name", 4, _OPT, _F.TYPE_STRING, None, False),
        ("blobs", 6, _REP, _F.TYPE_MESSAGE, ".caffe.BlobProto", False),
    ],
    "NetParameter": [
        ("name", 1, _OPT, _F.TYPE_STRING, None, False),
        ("layers", 2, _REP, _F.TYPE_MESSAGE, ".caffe.V1LayerParameter", False),
        ("input", 3, _REP, _F.TYPE_STRING, None, False),
        ("input_dim", 4, _REP, _F.TYPE_INT32, None, False),
        ("input_shape", 8, _REP, _F.TYPE_MESSAGE, ".caffe.BlobShape", False),
        ("layer", 100, _REP, _F.TYPE_MESSAGE, ".caffe.LayerParameter", False),
    ],
}


def _build() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name="squeezenet_caffe_subset.proto", package="caffe", syntax="proto2")
    for msg_name, fields in _MESSAGES.items():
        msg = file.message_type.add(name=msg_name)
        for name, number, label, ftype, type_name, packed in fields:
            field = msg.field.add(name=name, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name
            if packed:
                field.options.packed = True
        if msg_name == "PoolingParameter":
            enum = msg.enum_type.add(name="PoolMethod")
            for number, value in enumerate(("MAX", "AVE", "STOCHASTIC")):
                enum.value.add(name=value, number=number)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffe.{name}")) for name in _MESSAGES}


_CLASSES = _build()
NetParameter = _CLASSES["NetParameter"]
BlobProto = _CLASSES["BlobProto"]
