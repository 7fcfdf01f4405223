"""int8 by PyTorch 2 Export quantization (PT2E): the path LiteRT and ExecuTorch both document.

The model is exported, the runtime's own quantizer places observers, our calibration images (the
same preprocessed batch the ONNX Runtime and OpenVINO recipes calibrate on) give the statistics,
and ``convert_pt2e`` leaves quantize/dequantize pairs that the runtime's converter lowers to int8
kernels. Written here once because both runtimes take these steps word for word.

Our recipe (``ours``) changes three things in the runtime's quantizer:

- the global average pool's output gets its own scale. Both quantizers give it its input's,
  conv10's, whose map spans several times the range of its mean, the logits: the logits came
  out in steps of a whole unit. ONNX Runtime's recipe leaves the mean in float; a full-int8 file
  cannot, so the mean is requantized, which brings the int8 logits' KL divergence to fp32 down;
- the two expand branches a Fire module concatenates are observed as one. Observed apart, the
  LiteRT converter gave the concatenation its first input's scale (expand1x1's), clipping the
  wider expand3x3 branch: the demo's compressed model lost test accuracy as a ``.tflite``
  and none in PT2E's own simulation of the same graph;
- activations observed by min and max, the statistic of our ONNX Runtime recipe, instead of the
  quantizers' L2-fitted histograms: with the pool fixed, min-max kept as many of fp32's top-1
  answers on ``calib/`` for LiteRT and more for ExecuTorch.

``benchmarks/edge.py`` measures both recipes on the held-out ``val/`` images.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import torch

# torchao registers an Enum with torch's pytree at import, which torch 2.14 warns about once per
# process; nothing for a user to act on
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
from torchao.quantization.pt2e import MinMaxObserver, move_exported_model_to_eval  # noqa: E402
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402
from torchao.quantization.pt2e.quantizer import QuantizationSpec, Quantizer, SharedQuantizationSpec  # noqa: E402

CALIBRATION_BATCH = 25  # images per observed forward pass; any size gives the same statistics
POOLS = {torch.ops.aten.adaptive_avg_pool2d.default, torch.ops.aten.mean.dim, torch.ops.aten.avg_pool2d.default}


def min_max_activations(config: Any) -> Any:
    """A quantizer configuration (litert-torch's or XNNPACK's) with min-max activation observers."""
    observer = MinMaxObserver.with_args(eps=2**-12)  # the quantizers' own smallest scale
    return dataclasses.replace(
        config,
        input_activation=dataclasses.replace(config.input_activation, observer_or_fake_quant_ctr=observer),
        output_activation=dataclasses.replace(config.output_activation, observer_or_fake_quant_ctr=observer),
    )


class OurRecipe(Quantizer):
    """``base``'s annotations with two changes: an average pool's output observed on its own, as
    ``spec`` says (both quantizers annotate it as sharing its input's observer), and the inputs of
    a concatenation observed as one (the expand branches of a Fire module)."""

    def __init__(self, base: Quantizer, spec: QuantizationSpec) -> None:
        super().__init__()
        self.base, self.spec = base, spec

    def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        return self.base.transform_for_annotation(model)

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        model = self.base.annotate(model)
        for node in model.graph.nodes:
            annotation = node.meta.get("quantization_annotation")
            if node.target in POOLS and annotation is not None:
                annotation.output_qspec = dataclasses.replace(self.spec)  # a spec of its own: its own observer
            elif node.target == torch.ops.aten.cat.default:
                # LiteRT's converter gives a concatenation one scale, its first input's: observed apart,
                # the wider expand3x3 branch was clipped to the expand1x1 branch's range
                first, *rest = node.args[0]
                for producer in rest:
                    made = producer.meta.get("quantization_annotation")
                    if made is not None and made.output_qspec is not None:
                        made.output_qspec = SharedQuantizationSpec(first)
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        self.base.validate(model)


def quantize_pt2e(model: torch.nn.Module, quantizer: Any, calib: torch.Tensor, fold: bool) -> torch.fx.GraphModule:
    """``model`` with ``quantizer``'s observers calibrated on ``calib`` and converted; ``fold``: the
    weights stored quantized (ExecuTorch) rather than as float constants with their quantize op
    (LiteRT's converter folds those itself)."""
    batch = torch.export.Dim("batch", min=1, max=max(2, CALIBRATION_BATCH))
    exported = torch.export.export(model.eval(), (calib[:2],), dynamic_shapes=({0: batch},)).module()
    prepared = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for start in range(0, len(calib), CALIBRATION_BATCH):
            prepared(calib[start : start + CALIBRATION_BATCH])
    return move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=fold))
