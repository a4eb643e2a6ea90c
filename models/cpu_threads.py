"""How many threads the C kernels use, and how training shares the cores between them and torch.

The kernels run on a pool of helper threads (cpu_thread_pool.h) that spin briefly after each call,
as torch's OpenMP threads do after each parallel region. With both pools at two threads on a 2-core
host they take turns on the same cores: an epoch of CryptoMamba-v took 1.6-5.7 s instead of 1.0-1.2 s.
So there are two regimes:

* By default the kernels follow torch's thread count, and only calls with enough work to outweigh
  the contention (MIN_WORK_BESIDE_TORCH state updates per thread) use more than one thread: the large
  scans of long sequences.
* Inside `kernels_take_the_cores(n)`, torch runs on one thread and the kernels on n, down to small
  calls (MIN_WORK_PER_THREAD). Training (`train`, `meta_train`) and the regime tasks' adaptation
  report use it: our models' torch work is small operations that run as fast or faster on one thread
  (an LSTM-v epoch took 0.65 s on one and 0.89 s on two), while the Mamba blocks' kernels split a
  batch's rows across the cores. Meta-training HyperMamba (quick profile) took 5.4-6.4 s instead of
  7.9-8.3 s, and the adaptation report's curves 13.5-15.4 s instead of 17.2-19.9 s.

As a decorator, `@kernels_take_the_cores()` applies it to every call of a function. Measured with
`python -m benchmarks.models`; see the README's Performance section.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

MIN_WORK_BESIDE_TORCH = 2**22
"""State updates (batch * dim * length * d_state) per thread for a second thread next to torch's pool:
about 8M updates, a few ms. Below that, CryptoMamba's calls (under 1M) ran 1.5x slower on two."""

MIN_WORK_PER_THREAD = 2**16
"""State updates per thread for a second thread when torch is single-threaded: about 30 us of work,
against a few us to hand a job to a waiting pool helper."""

_kernel_budget: int | None = None
"""The kernels' thread count inside `kernels_take_the_cores`; None outside it."""


def kernel_threads(batch: int, dim: int, length: int, d_state: int) -> int:
    """Threads for a scan (or a whole Mamba block) of this size."""
    work = batch * dim * length * d_state
    if _kernel_budget is None:
        return max(1, min(torch.get_num_threads(), work // MIN_WORK_BESIDE_TORCH))
    return max(1, min(_kernel_budget, work // MIN_WORK_PER_THREAD))


@contextmanager
def kernels_take_the_cores(threads: int | None = None) -> Iterator[None]:
    """Within: torch on one thread, the C kernels on `threads` (default: torch's count on entry)."""
    global _kernel_budget
    previous_budget, torch_threads = _kernel_budget, torch.get_num_threads()
    _kernel_budget = threads or previous_budget or torch_threads
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        _kernel_budget = previous_budget
