"""GGUF export (llama.cpp's file format) without torch or the `gguf` package: numpy, plus python3-onnx for ONNX
folders. Modules: format (the container), quants (f16 / q8_0 / q4_0 bytes), tensors (names, RoPE layout, storage
types), hparams (architecture keys), vocab (tokenizer keys), sources (safetensors or ONNX weights), convert."""
from .convert import convert_to_gguf

__all__ = ["convert_to_gguf"]
