"""Training, export and evaluation tools for the embedded Glimpse model (glimpse-coder-tiny)."""
import os as _os
import sys as _sys

# The forward pass and the ONNX export are tools/convert's (glimpse_convert.model / .export); put it on the path
# here so every entry point (python3 -m glimpse_train.*, scripts that import glimpse_train) finds it.
_CONVERT = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))), "convert")
if _CONVERT not in _sys.path:
    _sys.path.insert(0, _CONVERT)
