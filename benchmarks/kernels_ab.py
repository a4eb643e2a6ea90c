"""This checkout's C kernels against another git revision's, in one process, their calls alternating.

On a shared machine whose speed drifts by 1.5x within minutes, two separate runs cannot resolve a 5 %
change; alternating rounds see the same drift. The other revision's C sources (`models/*.c`, `*.h`)
are compiled with this host's compiler and flags. Both builds must export the same kernels with the
same arguments: loading checks the names, and this checkout's argument types are used for both.

Run: `.venv/bin/python -m benchmarks.kernels_ab --against e021db8 [--rounds 20] [--threads 2]`
Prints, per case, each build's median and fastest seconds and the medians' ratio (this / other):

* scan L=512: `selective_scan_cpu` forward + backward at batch 32, dim 128, d_state 64
  (`benchmarks/scan.py`'s case);
* scan L=6: the same at CryptoMamba's scan shape (dim 64, length 6);
* training step: CryptoMamba-v (paper sizes) on a fixed batch of 32: forward, RMSE, backward and a fused
  Adam step over flat parameters: `models.training.training_step`, as `train` runs it.
"""

import argparse
import ctypes
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import torch

from assets.markdown import markdown_table
from benchmarks.scan import mean_seconds, scan_case
from models.cpu_scan_library import SOURCES, build_elsewhere, kernels_from, load_cpu_scan
from models.cpu_threads import kernels_take_the_cores
from models.cryptomamba import CryptoMamba
from models.flat_parameters import flat_parameters
from models.training import training_step

WARMUP_CALLS = 5
STEPS_PER_ROUND = 20
"""Training steps timed per build per round (the scans: one call per round)."""


def _git(*args: str) -> bytes:
    """`git args` run in the kernels' folder (paths as `REV:./name` are relative to it); git's own
    message if it fails."""
    done = subprocess.run(["git", *args], cwd=SOURCES[0].parent, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.decode().strip()}")
    return done.stdout


def _revision_kernels(revision: str, folder: Path) -> ctypes.CDLL:
    """`revision`'s kernels, built in `folder` from its C sources as git holds them."""
    names = _git("ls-tree", "--name-only", revision, "--", ".").decode().split()
    for name in names:
        if name.endswith((".c", ".h")):
            (folder / name).write_bytes(_git("show", f"{revision}:./{name}"))
    return build_elsewhere(folder / SOURCES[0].name, folder / "cpu_scan-other.so")


def _training_step(context: ExitStack) -> Callable[[], None]:
    """One CryptoMamba-v training step on a fixed batch, its flat parameters held by `context`."""
    generator = torch.Generator().manual_seed(0)
    model = CryptoMamba(6)
    inputs, targets = torch.randn(32, 6, 14, generator=generator), torch.randn(32, generator=generator)
    flat = context.enter_context(flat_parameters(model))
    optimizer = torch.optim.Adam([flat], lr=1e-4, weight_decay=1e-3, fused=True)

    return lambda: training_step(model, flat, optimizer, inputs, targets)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", required=True, help="the git revision to compare with, e.g. HEAD~3")
    parser.add_argument("--rounds", type=int, default=20, help="alternations per case")
    parser.add_argument("--threads", type=int, default=2, help="the kernels' threads (torch gets one)")
    args = parser.parse_args()
    with ExitStack() as context:
        folder = Path(context.enter_context(tempfile.TemporaryDirectory()))
        context.enter_context(kernels_take_the_cores(args.threads))
        builds = {"this checkout": load_cpu_scan(), args.against: _revision_kernels(args.against, folder)}
        cases = {
            "scan L=512": (scan_case("ours", 512, 64), 1),
            "scan L=6": (scan_case("ours", 6, 64, dim=64), STEPS_PER_ROUND),
            "training step": (_training_step(context), STEPS_PER_ROUND),
        }
        seconds: dict[tuple[str, str], list[float]] = {(case, name): [] for case in cases for name in builds}
        for library in builds.values():
            with kernels_from(library):
                for run, _ in cases.values():
                    mean_seconds(run, WARMUP_CALLS)
        for round_ in range(args.rounds):
            order = list(builds.items()) if round_ % 2 == 0 else list(builds.items())[::-1]
            for name, library in order:
                with kernels_from(library):
                    for case, (run, calls) in cases.items():
                        seconds[(case, name)].append(mean_seconds(run, calls))
    rows = []
    for case in cases:
        row: dict[str, str] = {"case": case}
        for name in builds:
            times = seconds[(case, name)]
            row[f"{name} median ms"] = f"{statistics.median(times) * 1e3:.3f}"
            row[f"{name} fastest ms"] = f"{min(times) * 1e3:.3f}"
        this, other = (statistics.median(seconds[(case, name)]) for name in builds)
        row["this / other"] = f"{this / other:.3f}"
        rows.append(row)
    print(f"{args.rounds} alternating rounds, {args.threads} kernel threads")
    print(markdown_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
