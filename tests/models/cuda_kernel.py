"""The skip marker of the tests that need a GPU and mamba-ssm's CUDA kernel (benchmarks/gpu_check.sh
runs them; CI, without a GPU, skips them). A plain module, not a conftest fixture, because the GPU
check runs pytest without the conftest files, whose fixtures need the pipeline's packages."""

import pytest
import torch

from models.selective_scan import cuda_kernel

needs_cuda_kernel = pytest.mark.skipif(
    not torch.cuda.is_available() or cuda_kernel() is None, reason="needs a GPU and mamba-ssm's CUDA kernel"
)
