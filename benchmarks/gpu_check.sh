#!/usr/bin/env bash
# The GPU checks in one command, run from the repository root on a CUDA host that may have no network:
#   1. build mamba-ssm's selective-scan kernel from its source in .gpu/ (`make gpu-sources` fetches it
#      where PyPI is reachable) for this card's architecture alone, into a scratch folder;
#   2. run the CUDA tests against it: the scan and the Mamba block on the GPU against the reference
#      and the CPU path (CI, without a GPU, skips them);
#   3. time the kernel next to our CPU path: `benchmarks/scan.py`'s "mamba-ssm cuda" path.
# It needs on that host: torch with CUDA, and nvcc; pytest and pandas; what mamba-ssm imports (einops,
# transformers, huggingface_hub, triton) and builds with (setuptools, wheel, packaging, ninja).
# mamba-ssm's setup compiles for up to nine architectures whatever TORCH_CUDA_ARCH_LIST says, most of an
# hour's build; one takes minutes. causal-conv1d is not built: the Mamba block falls back to torch's
# conv1d without it, and the selective scan is what is checked here.
#
# Usage: bash benchmarks/gpu_check.sh [python]   (default: python3)
set -euo pipefail

python=${1:-python3}
sdist=""
if [ -d .gpu ]; then
    sdist=$(find .gpu -maxdepth 1 -name 'mamba_ssm-*.tar.gz' | sort | tail -n 1)
fi
if [ -z "$sdist" ]; then
    echo "no mamba-ssm source in .gpu/: run 'make gpu-sources' where PyPI is reachable" >&2
    exit 2
fi
"$python" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")'
arch=$("$python" -c 'import torch; major, minor = torch.cuda.get_device_capability(); print(f"{major}{minor}")')
arch_list="${arch%?}.${arch: -1}" # 90 -> 9.0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
src="$scratch/src"
site="$scratch/site"
mkdir -p "$src"
tar -xzf "$sdist" -C "$src" --strip-components=1

# Keep only this card's architecture: the line goes right after setup.py has listed its nine.
"$python" - "$src/setup.py" "$arch" <<'PATCH'
import sys
from pathlib import Path

setup, arch = Path(sys.argv[1]), sys.argv[2]
text = setup.read_text()
anchor = "    # HACK: The compiler flag -D_GLIBCXX_USE_CXX11_ABI"
if anchor not in text:
    sys.exit(f"{setup}: no line '{anchor.strip()}' to put the architecture before; check the patch")
only = f'    cc_flag = ["-gencode", "arch=compute_{arch},code=sm_{arch}"]  # this card alone\n'
setup.write_text(text.replace(anchor, only + anchor, 1))
PATCH

jobs=$(nproc)
jobs=$((jobs < 16 ? jobs : 16)) # each nvcc job can take a few GB
echo "building $(basename "$sdist") for sm_$arch with $jobs jobs"
started=$(date +%s)
(cd "$src" && MAMBA_FORCE_BUILD=TRUE MAMBA_KEEP_CUDA_BUILD=TRUE TORCH_CUDA_ARCH_LIST="$arch_list" \
    MAX_JOBS=$jobs "$python" -m pip install --quiet --no-build-isolation --no-deps --no-index \
    --target "$site" .)
echo "built in $(($(date +%s) - started)) s"

export PYTHONPATH="$site:$PWD"
# A kernel that does not import would only make the tests skip: say what is missing, and stop.
"$python" - <<'CHECK'
import selective_scan_cuda  # noqa: F401  (the extension itself)
from mamba_ssm.ops.selective_scan_interface import selective_scan_fn  # noqa: F401  (and what it imports)

from models.selective_scan import cuda_kernel

assert cuda_kernel() is not None, "the dispatch does not find mamba-ssm's kernel"
print("mamba-ssm's selective scan imports")
CHECK
# --noconftest: the shared fixtures need the pipeline's packages (Dagster, DuckDB), which the scan and
# block tests do not use.
"$python" -m pytest -q -p no:cacheprovider --noconftest -k cuda -rs \
    tests/models/test_selective_scan.py tests/models/test_mamba_block.py
"$python" -m benchmarks.scan --paths ours "mamba-ssm cuda" --lengths 14 128 512 2048 --states 16 64
