"""Training, export and evaluation tools for the embedded Glimpse model (glimpse-coder-tiny)."""
