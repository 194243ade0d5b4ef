"""glimpse_convert: Hugging Face checkpoints (Llama, Qwen2, Qwen3; safetensors) -> ONNX folders Glimpse and transformers.js load."""
