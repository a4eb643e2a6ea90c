"""Compile C for Solana's SBPF v0 with the clang that ships inside the PyPI `ziglang` wheel.

cargo-build-sbf (and Solana's LLVM fork) cannot be installed here, but upstream clang's `bpfel`
backend produces eBPF that SBPF v0 executes once `onchain.linker` turns the relocatable object
into the shared object the loader wants. The flags pin that subset of eBPF:

* `-mcpu=v2`: v3 would emit JMP32 (class 0x06) instructions, which SBPF v0 rejects; v2 still has
  the JLT/JLE/JSLT/JSLE jumps SBPF supports. Below v4 clang refuses signed division outright
  ("unsupported signed division"), which SBPF v0 lacks too.
* `-ffreestanding -fno-builtin -nostdlib`: there is no libc on chain; memcpy and friends are the
  `sol_mem*_` syscalls.
* `-fno-stack-protector`: no canary symbols to resolve.
* `-fno-unwind-tables -fno-asynchronous-unwind-tables`: no `.eh_frame` worth carrying.
* `-mllvm -bpf-stack-size=4096`: SBPF v0 gives every call frame 4 KiB, not eBPF's 512 bytes.

Each flag was checked with `-Werror=unused-command-line-argument` against the bundled clang 20.1
(zig 0.15.2): all are accepted, none is dropped.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

SBPF_V0_CFLAGS: tuple[str, ...] = (
    "-target",
    "bpfel-freestanding",
    "-mcpu=v2",
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-nostdlib",
    "-fno-stack-protector",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-mllvm",
    "-bpf-stack-size=4096",
)

_NO_DEFINES: Mapping[str, str] = MappingProxyType({})


class CompileError(Exception):
    """The compiler rejected the source; `stderr` holds its diagnostics verbatim."""

    def __init__(self, source: Path, stderr: str) -> None:
        super().__init__(f"compiling {source} failed:\n{stderr}")
        self.source = source
        self.stderr = stderr


def compiler_command() -> list[str]:
    """The `zig cc` driver of the venv's ziglang, run as a module so no PATH lookup is involved."""
    return [sys.executable, "-m", "ziglang", "cc"]


def compile_c(
    source: Path,
    include_dirs: Sequence[Path] = (),
    defines: Mapping[str, str] = _NO_DEFINES,
) -> bytes:
    """Compile one C file to an ELF64 relocatable eBPF object (EM_BPF) and return its bytes.

    The object is written into a private temporary folder, so concurrent builds never share an
    output path. `defines` become `-DNAME=VALUE`; `include_dirs` become `-I` options.
    """
    source = Path(source).resolve()
    args = [*compiler_command(), *SBPF_V0_CFLAGS]
    args += [f"-I{Path(folder).resolve()}" for folder in include_dirs]
    args += [f"-D{name}={value}" for name, value in defines.items()]
    with tempfile.TemporaryDirectory(prefix="sbpf-cc-") as scratch:
        output = Path(scratch) / (source.stem + ".o")
        completed = subprocess.run(
            [*args, "-c", str(source), "-o", str(output)],
            capture_output=True,
            text=True,
            cwd=scratch,
            check=False,
        )
        if completed.returncode != 0 or not output.exists():
            raise CompileError(source, completed.stderr)
        return output.read_bytes()
