"""Selective scan forward + backward: our compiled CPU path against the alternatives.

Run: `.venv/bin/python -m benchmarks.scan [--quick] [--lengths 14 128] [--states 16] [--paths ours pscan]`,
or `--small` for the per-call table described below.
Prints a Markdown table of wall time and peak memory at batch 32, dim 128, float32, for

* ours: `models.selective_scan.selective_scan_cpu` (C loops built for the host, chunk checkpoints);
* loop: `selective_scan_reference`, the sequential PyTorch loop, differentiated by autograd;
* pscan: mambapy's `selective_scan` (materialised (B, L, D, N) tensors + its Blelloch `pscan`);
* mamba-ssm ref: mamba-ssm's `selective_scan_ref`, where mamba-ssm imports (never on a CPU-only host);
* mamba-ssm cuda: mamba-ssm's fused CUDA kernel (`selective_scan_fn`) on the GPU, only when named in
  `--paths` (`benchmarks/gpu_check.sh` builds the kernel and runs this path).

Each (path, shape) case runs in a fresh process, so its peak resident memory (VmHWM above the resident
memory once imports, compilation and inputs are done) is its own, under a time limit and an
address-space limit that turn a runaway case into "> limit" / "out of memory" instead of a hung machine.
For the CUDA path the peak is GPU memory (torch's allocator) and there is no address-space limit.

`--small` instead times single calls at CryptoMamba's shapes (batch 32, d_state 64, length 6, dim 28 and
64; it calls the scan 12 times a forward), where fixed per-call costs, not the recurrence, dominate: it
is the check that the compiled path is also the faster one for tiny sequences.
"""

# A, B, C, D are mamba-ssm's names for the scan's inputs.
# ruff: noqa: N806

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from assets.markdown import markdown_table

BATCH = 32
DIM = 128
LENGTHS = (14, 128, 512, 2048)
STATES = (16, 64)
CUDA_PATH = "mamba-ssm cuda"
PATHS = ("ours", "loop", "pscan", "mamba-ssm ref", CUDA_PATH)
DEFAULT_PATHS = PATHS[:-1]
"""Without `--paths`, everything but the GPU kernel, which a CPU host can only report missing."""
THREADS = 2
MIN_SECONDS = 1.0
SLOW_CASE_S = 20.0
"""Each case reports its fastest run: cases repeat until they have run MIN_SECONDS, and at least 3
times unless one run takes over SLOW_CASE_S (at most 5 times). The loop's time varies up to 3x from
run to run (its allocations fault pages in), so a single run would flatter us."""
SMALL = {"length": 6, "d_state": 64, "dims": (28, 64)}
"""`--small`: CryptoMamba's scan shapes (batch stays BATCH)."""
SMALL_CALLS = 50
"""`--small` times this many calls in a row, five times, and reports the fastest mean."""

FwdBwd = Callable[[], None]


def scan_case(path: str, length: int, d_state: int, dim: int = DIM) -> FwdBwd:
    """A closure running one forward + backward of `path` on fresh random float32 inputs."""
    import torch  # imported in the child, after its thread settings

    generator = torch.Generator().manual_seed(0)  # drawn on the CPU, so every path sees the same inputs
    device = "cuda" if path == CUDA_PATH else "cpu"

    def rand(*shape: int, scale: float = 1.0, offset: float = 0.0) -> torch.Tensor:
        return (torch.randn(*shape, generator=generator) * scale + offset).to(device).requires_grad_()

    A = (-torch.rand(dim, d_state, generator=generator) - 0.1).to(device).requires_grad_()
    D = rand(dim)
    if path == "pscan":
        from mambapy.pscan import pscan

        # mambapy's layout: (B, L, ED) activations and (B, L, N) B and C; its `MambaBlock.selective_scan`.
        x, delta = rand(BATCH, length, dim), rand(BATCH, length, dim, scale=0.01, offset=0.05)
        B, C = rand(BATCH, length, d_state), rand(BATCH, length, d_state)

        def run() -> None:
            deltaA = torch.exp(delta.unsqueeze(-1) * A)
            deltaB = delta.unsqueeze(-1) * B.unsqueeze(2)
            hs = pscan(deltaA, deltaB * x.unsqueeze(-1))
            y = (hs @ C.unsqueeze(-1)).squeeze(3) + D * x
            y.sum().backward()

        return run

    if path == "ours":
        from models.selective_scan import selective_scan_cpu as scan
    elif path == "loop":
        from models.selective_scan import selective_scan_reference as scan
    elif path == CUDA_PATH:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as scan
    else:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_ref as scan
    u, delta = rand(BATCH, dim, length), rand(BATCH, dim, length, scale=0.01, offset=0.05)
    B, C = rand(BATCH, d_state, length), rand(BATCH, d_state, length)

    def run() -> None:
        scan(u, delta, A, B, C, D).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()  # the kernels run asynchronously: time them to their end

    return run


NO_GPU = {"error": "no GPU"}


def _resident_kib(field: str) -> int:
    """`VmRSS` (now), `VmHWM` (peak since the last reset) or `VmSize` of this process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _measure(path: str, length: int, d_state: int, memory_limit_gib: float) -> dict[str, float | str]:
    """Seconds and peak MiB of one case, in this (fresh) process."""
    import torch

    torch.set_num_threads(THREADS)
    if path == CUDA_PATH and not torch.cuda.is_available():
        return NO_GPU
    try:
        scan_case(path, 3, 2)()  # imports, the kernels' build (or cache load), allocator warm-up
    except (ImportError, ModuleNotFoundError):
        return {"error": "not importable"}
    run = scan_case(path, length, d_state)
    if path == CUDA_PATH:
        return _measure_cuda(run)
    # Cap the address space above what is mapped now, so a case needing more fails here instead of
    # swapping or waking the OOM killer on a shared machine.
    limit = _resident_kib("VmSize") * 1024 + int(memory_limit_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Writing 5 to clear_refs resets the peak, so imports and inputs do not count as the case's.
    Path("/proc/self/clear_refs").write_text("5")
    baseline_kib = _resident_kib("VmRSS")
    try:
        seconds = _fastest_run(run)
    except (MemoryError, RuntimeError) as error:
        if "memory" not in str(error).lower() and not isinstance(error, MemoryError):
            raise
        return {"error": f"out of memory (> {memory_limit_gib:g} GiB)"}
    return {"seconds": seconds, "peak_mib": (_resident_kib("VmHWM") - baseline_kib) / 1024}


def _fastest_run(run: FwdBwd) -> float:
    """Seconds of `run`'s fastest run; see MIN_SECONDS for how often it runs."""
    timings: list[float] = []
    while not timings or (
        len(timings) < 5 and (sum(timings) < MIN_SECONDS or (len(timings) < 3 and timings[0] < SLOW_CASE_S))
    ):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def mean_seconds(run: FwdBwd, calls: int) -> float:
    """Seconds per call over `calls` calls of `run` in a row."""
    started = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - started) / calls


def _measure_cuda(run: FwdBwd) -> dict[str, float | str]:
    """Seconds and peak GPU MiB (torch's allocator, above the inputs) of one case on the GPU."""
    import torch

    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    try:
        seconds = _fastest_run(run)
    except torch.cuda.OutOfMemoryError:
        return {"error": "out of GPU memory"}
    return {"seconds": seconds, "peak_mib": (torch.cuda.max_memory_allocated() - baseline) / 2**20}


def _measure_per_call(path: str, length: int, d_state: int, dim: int) -> dict[str, float | str]:
    """Milliseconds of one forward + backward, the fastest mean of five runs of SMALL_CALLS calls."""
    import torch

    torch.set_num_threads(THREADS)
    if path == CUDA_PATH and not torch.cuda.is_available():
        return NO_GPU
    try:
        run = scan_case(path, length, d_state, dim)
    except (ImportError, ModuleNotFoundError):
        return {"error": "not importable"}
    for _ in range(5):  # compilation or cache load, allocator and thread-pool warm-up
        run()
    return {"seconds": min(mean_seconds(run, SMALL_CALLS) for _ in range(5))}


def _run_case(
    path: str, length: int, d_state: int, time_limit_s: float, memory_limit_gib: float, dim: int | None = None
) -> dict:
    """`_measure` in a child process, so peak memory is per case and a slow case can be stopped; with a
    `dim`, `_measure_per_call` at that dim instead."""
    command = [sys.executable, "-m", "benchmarks.scan", "--case", path, str(length), str(d_state)]
    command += ["--memory-limit-gib", str(memory_limit_gib)]
    if dim is not None:
        command += ["--per-call-dim", str(dim)]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=time_limit_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"> {time_limit_s:g} s", "seconds_over": time_limit_s}
    if done.returncode != 0:
        return {"error": f"failed ({done.stderr.strip().splitlines()[-1:] or done.returncode})"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time_cell(result: dict) -> str:
    return f"{result['seconds']:.3f}" if "seconds" in result else result["error"]


def _memory_cell(result: dict) -> str:
    return f"{result['peak_mib']:,.0f}" if "peak_mib" in result else "-"


def _speedup(ours: dict, other: dict) -> str:
    """other / ours; a lower bound ("> x") where the other case hit the time limit."""
    if "seconds" not in ours:
        return "-"
    if "seconds" in other:
        return f"{other['seconds'] / ours['seconds']:,.1f}x"
    if "seconds_over" in other:
        return f"> {other['seconds_over'] / ours['seconds']:,.0f}x"
    return "-"


def _small_table(paths: list[str], time_limit_s: float, memory_limit_gib: float) -> None:
    """Per-call milliseconds at CryptoMamba's shapes (SMALL), one row per dim."""
    rows = []
    for dim in SMALL["dims"]:
        row: dict[str, str | int] = {"D": dim, "N": SMALL["d_state"], "L": SMALL["length"]}
        results = {}
        for path in paths:
            result = _run_case(path, SMALL["length"], SMALL["d_state"], time_limit_s, memory_limit_gib, dim)
            results[path] = result
            row[f"{path} ms"] = f"{result['seconds'] * 1e3:.3f}" if "seconds" in result else result["error"]
        if "ours" in results:
            for other in ("loop", "pscan"):
                if other in results:
                    row[f"ours vs {other}"] = _speedup(results["ours"], results[other])
        rows.append(row)
    print(f"B = {BATCH}, float32, one forward + backward call, {THREADS} threads")
    print(markdown_table(pd.DataFrame(rows).fillna("-")))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--states", type=int, nargs="+", default=list(STATES), help="d_state values")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(DEFAULT_PATHS))
    parser.add_argument("--quick", action="store_true", help="only L = 14 and 128 at d_state 16")
    parser.add_argument("--small", action="store_true", help="per-call times at CryptoMamba's shapes")
    parser.add_argument("--time-limit-s", type=float, default=120.0, help="per case")
    parser.add_argument("--memory-limit-gib", type=float, default=12.0, help="per case, above the baseline")
    parser.add_argument("--case", nargs=3, metavar=("PATH", "LENGTH", "D_STATE"), help=argparse.SUPPRESS)
    parser.add_argument("--per-call-dim", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        path, length, d_state = args.case
        if args.per_call_dim is not None:
            result = _measure_per_call(path, int(length), int(d_state), args.per_call_dim)
        else:
            result = _measure(path, int(length), int(d_state), args.memory_limit_gib)
        print(json.dumps(result))
        return
    if args.small:
        _small_table(args.paths, args.time_limit_s, args.memory_limit_gib)
        return
    lengths, states = ([14, 128], [16]) if args.quick else (args.lengths, args.states)
    rows = []
    for d_state in states:
        for length in lengths:
            results = {
                path: _run_case(path, length, d_state, args.time_limit_s, args.memory_limit_gib)
                for path in args.paths
            }
            row: dict[str, str | int] = {"N": d_state, "L": length}
            for path, result in results.items():
                row[f"{path} s"] = _time_cell(result)
                row[f"{path} MiB"] = _memory_cell(result)
            if "ours" in results:
                for other in ("loop", "pscan"):
                    if other in results:
                        row[f"ours vs {other}"] = _speedup(results["ours"], results[other])
            rows.append(row)
            print(f"done N={d_state} L={length}", file=sys.stderr, flush=True)
    print(f"B = {BATCH}, D = {DIM}, float32, forward + backward, {THREADS} threads; peak MiB above inputs")
    print(markdown_table(pd.DataFrame(rows).fillna("-")))


if __name__ == "__main__":
    main()
