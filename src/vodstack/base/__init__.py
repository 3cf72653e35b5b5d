"""Low-level pieces every layer may use (nothing here imports another vodstack package)."""
