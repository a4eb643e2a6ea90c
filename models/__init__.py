"""Forecasting models, their training loop and evaluation helpers (plain PyTorch and NumPy, no Dagster).

Subnormal floats are flushed to zero for the whole process, before torch or numba start any worker
thread (threads inherit the setting from the thread that creates them). Training drives activations
and gradients into the subnormal range, where x86 arithmetic is 10-100x slower: CryptoMamba's epochs
grew from 2.5 s to 12 s within a dozen epochs before this, and the values lost are below 1e-38.
"""

import torch

torch.set_flush_denormal(True)
