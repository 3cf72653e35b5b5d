"""vodstack: upload once, adaptive HLS/DASH for every entitled viewer."""

__version__ = "0.1.0"
__all__ = ["__version__"]
