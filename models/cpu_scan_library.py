"""Compile the selective scan's C kernels (`cpu_scan.c`) for this host, once, and load them with ctypes.

Two users: `selective_scan`'s CPU path (the scan's forward and backward) and `Mamba.step` (one bar
through a whole block, for streaming inference).

The library is built with the system C compiler (`$CC`, else `cc`) and `-march=native`, so it uses
every vector unit the host has; it is cached under `$MAMBAQUANT_KERNEL_CACHE` (default
`~/.cache/mambaquant/kernels`) by a hash of the sources, the flags, the compiler and the CPU, so a
changed source or another machine gets a fresh build. A build takes a few seconds, and removes the
builds of other versions that are more than a day old, so the cache does not grow with every change.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

HERE = Path(__file__).parent
SOURCES = (
    HERE / "cpu_scan.c",
    HERE / "cpu_thread_pool.h",
    HERE / "cpu_scan_kernels.h",
    HERE / "cpu_mamba_kernels.h",
    HERE / "cpu_mamba_stack_kernels.h",
)
FLAGS = (
    "-std=gnu11",
    "-O3",
    "-march=native",
    "-fPIC",
    "-shared",
    "-pthread",
    "-fopenmp-simd",  # honour `#pragma omp simd` (vectorised sums) without an OpenMP runtime
    "-fno-math-errno",
    "-ffp-contract=fast",
    # Let sums over d_state be added as a tree: in order, a 16-lane sum is 16 dependent adds a step.
    # This reorders roundings only (nothing here assumes finite values).
    "-fassociative-math",
    "-fno-signed-zeros",
    "-fno-trapping-math",
)
CACHE_ENV = "MAMBAQUANT_KERNEL_CACHE"
STALE_BUILD_SECONDS = 24 * 3600
"""Other versions' builds older than this go when a new one is made; younger ones may be in use by a
process of another checkout that is about to load them."""
CHECKPOINT_EVERY = 64
"""Steps between the states the scan's forward stores: CHUNK in cpu_scan.c (checked at load)."""


class KernelUnavailableError(RuntimeError):
    """The C kernels could not be built or loaded on this host (no compiler, or it failed)."""


def kernel_cache() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mambaquant" / "kernels"
    return Path(os.environ.get(CACHE_ENV, default)).expanduser()


def _compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise KernelUnavailableError("no C compiler found: install gcc or set CC to build the CPU scan")
    return compiler


def _cpu_flags() -> str:
    """The CPU's feature flags: a library built with -march=native must not move to another CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line for line in lines if line.startswith("flags")), "")


def _build(compiler: str, target: Path, source: Path = SOURCES[0]) -> None:
    """Compile `source` (cpu_scan.c, which includes the headers beside it) to a temporary name and
    rename, so concurrent processes never load a half-written file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.{os.getpid()}.so")
    command = [compiler, *FLAGS, str(source), "-o", str(partial), "-lm"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise KernelUnavailableError(f"could not run the C compiler {compiler!r}: {error}") from error
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise KernelUnavailableError(f"{' '.join(command)} failed:\n{result.stderr.strip()}")
    os.replace(partial, target)
    _remove_stale_builds(target)


def _remove_stale_builds(kept: Path) -> None:
    """Delete other versions' libraries (and partial files of crashed builds) not written for a day."""
    cutoff = time.time() - STALE_BUILD_SECONDS
    for path in [*kept.parent.glob("cpu_scan-*.so"), *kept.parent.glob(".cpu_scan-*.so")]:
        if path != kept and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _declare(library: ctypes.CDLL) -> None:
    """Argument types of the exported kernels; see cpu_scan_kernels.h and cpu_mamba_kernels.h."""
    pointer, size, threads = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    per_precision = {
        "scan_forward": [pointer] * 5 + [size] * 4 + [pointer] * 2 + [threads],
        "scan_backward": [pointer] * 7 + [size] * 5 + [pointer] * 5 + [threads],
        "mamba_step": [pointer] * 14 + [size] * 6 + [pointer],
        "mamba_forward": [pointer] * 2 + [size] * 7 + [pointer] * 2 + [threads],
        "mamba_backward": [pointer] * 4 + [size] * 7 + [pointer] * 2 + [size, threads],
        "mamba_stack_forward": [pointer] * 2 + [size] * 8 + [ctypes.c_double] + [pointer] * 2 + [threads],
        "mamba_stack_backward": [pointer] * 3 + [size] * 8 + [pointer] * 2 + [size, threads],
    }
    for name, argtypes in per_precision.items():
        for suffix in ("f32", "f64"):
            kernel = getattr(library, f"{name}_{suffix}")
            kernel.argtypes, kernel.restype = argtypes, None
    library.mamba_workspace_size.argtypes = [size] * 4
    library.mamba_workspace_size.restype = size
    library.mamba_stack_workspace_size.argtypes = [size] * 6
    library.mamba_stack_workspace_size.restype = size
    library.scan_chunk.argtypes = []
    library.scan_chunk.restype = ctypes.c_long


def load_cpu_scan() -> ctypes.CDLL:
    """The kernels for this host, built on first use; raises `KernelUnavailableError` if they cannot be."""
    compiler = _compiler()
    key = hashlib.sha256()
    for source in SOURCES:
        key.update(source.read_bytes())
    key.update("\0".join((*FLAGS, compiler, _cpu_flags())).encode())
    target = kernel_cache() / f"cpu_scan-{key.hexdigest()[:16]}.so"
    if not target.exists():
        _build(compiler, target)
    return _open(target)


def build_elsewhere(source: Path, target: Path) -> ctypes.CDLL:
    """Kernels compiled from another copy of the sources (`source` is its cpu_scan.c) into `target`,
    with this host's compiler and flags: another revision's, to time against (benchmarks/kernels_ab.py)."""
    _build(_compiler(), target, source)
    return _open(target)


def _open(target: Path) -> ctypes.CDLL:
    """The library at `target`, its kernels' argument types declared and its chunk size checked."""
    try:
        library = ctypes.CDLL(str(target))
    except OSError as error:
        raise KernelUnavailableError(f"could not load {target}: {error}") from error
    _declare(library)
    if library.scan_chunk() != CHECKPOINT_EVERY:
        raise KernelUnavailableError(
            f"{target} checkpoints every {library.scan_chunk()} steps, not {CHECKPOINT_EVERY}"
        )
    return library


@functools.cache
def cpu_kernels_available() -> bool:
    """Whether the kernels build and load here; if not, warns once, and callers run their torch code."""
    try:
        _loaded()
    except KernelUnavailableError as error:
        warnings.warn(f"{error}; the CPU falls back to torch loops", RuntimeWarning, stacklevel=2)
        return False
    return True


@functools.cache
def _loaded() -> ctypes.CDLL:
    return load_cpu_scan()


_substitute: ctypes.CDLL | None = None
"""Inside `kernels_from`, the library whose kernels `cpu_kernel` hands out instead of this checkout's."""


def _active() -> ctypes.CDLL:
    return _loaded() if _substitute is None else _substitute


@functools.cache
def cpu_kernel(name: str, dtype: torch.dtype) -> Callable[..., None]:
    """The exported function `name` for float32 (and narrower, computed in float32) or float64 data."""
    return getattr(_active(), f"{name}_{'f64' if dtype == torch.float64 else 'f32'}")


@contextmanager
def kernels_from(library: ctypes.CDLL) -> Iterator[None]:
    """Within: every kernel call goes to `library` (from `build_elsewhere`), so two builds can alternate
    in one process. A forward run within must have its backward run within too (its workspace is laid
    out by `library`). Not thread-safe: for benchmarks, not for serving."""
    global _substitute
    previous, _substitute = _substitute, library
    cpu_kernel.cache_clear()
    try:
        yield
    finally:
        _substitute = previous
        cpu_kernel.cache_clear()


def pointer(t: torch.Tensor | None) -> int | None:
    """A tensor's data address for a kernel argument (NULL for an absent optional input)."""
    return None if t is None else t.data_ptr()


_fill_setting = threading.Lock()
"""Held while `kernel_buffer` has torch's fill setting switched off."""


def kernel_buffer(like: torch.Tensor, *shape: int) -> torch.Tensor:
    """An uninitialised tensor of `like`'s dtype for a kernel to write in full before anything reads it.

    Training runs under `torch.use_deterministic_algorithms`, where torch.empty fills new memory with
    NaN so that reading uninitialised memory is at least reproducible. The kernels never read what
    they have not written (tests/models/test_cpu_mamba.py fills them with NaN to check), and that
    fill was costly: about 0.5 ms a training step for a C-Block's workspace, and 4 ms a validation
    pass. The setting is process-wide, so switching it is serialised across threads."""
    deterministic = torch.utils.deterministic
    with _fill_setting:
        fill = deterministic.fill_uninitialized_memory
        deterministic.fill_uninitialized_memory = False
        try:
            return like.new_empty(shape)
        finally:
            deterministic.fill_uninitialized_memory = fill


def mamba_workspace_elements(length: int, d_inner: int, dt_rank: int, d_state: int) -> int:
    """Elements of saved intermediates one batch row of a Mamba block needs (cpu_mamba_kernels.h)."""
    return int(_active().mamba_workspace_size(length, d_inner, dt_rank, d_state))


def mamba_stack_workspace_elements(
    blocks: int, length: int, d_model: int, d_inner: int, dt_rank: int, d_state: int
) -> int:
    """Elements one batch row of a residual stack of Mamba blocks needs (cpu_mamba_stack_kernels.h)."""
    return int(_active().mamba_stack_workspace_size(blocks, length, d_model, d_inner, dt_rank, d_state))
