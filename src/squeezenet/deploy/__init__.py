"""Deployment: ONNX export, ONNX Runtime (fp32 and int8) backends, footprint planning."""
