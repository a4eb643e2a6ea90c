#!/usr/bin/env bash
# The GPU checks in one command, run from the repository root on a CUDA host that has torch (and
# pytest, pandas) but may have no network:
#   1. build mamba-ssm's selective-scan kernel from its source in .gpu/ (`make gpu-sources` fetches it
#      where PyPI is reachable) for this card's architecture alone, into a scratch folder;
#   2. run the CUDA tests against it: the scan and the Mamba block on the GPU against the reference
#      and the CPU path (CI, without a GPU, skips them);
#   3. time the kernel next to our CPU path: `benchmarks/scan.py`'s "mamba-ssm cuda" path.
# mamba-ssm's setup compiles for up to nine architectures whatever TORCH_CUDA_ARCH_LIST says, most of an
# hour's build; one takes minutes. causal-conv1d is not built: the Mamba block falls back to torch's
# conv1d without it, and the selective scan is what is checked here.
#
# Usage: bash benchmarks/gpu_check.sh [python]   (default: python3)
set -euo pipefail

python=${1:-python3}
sdist=$(find .gpu -maxdepth 1 -name 'mamba_ssm-*.tar.gz' 2>/dev/null | sort | tail -n 1)
if [ -z "$sdist" ]; then
    echo "no mamba-ssm source in .gpu/: run 'make gpu-sources' where PyPI is reachable" >&2
    exit 2
fi
read -r arch arch_list < <("$python" -c '
import torch
major, minor = torch.cuda.get_device_capability()
print(f"{major}{minor} {major}.{minor}")')
"$python" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")'

scratch=$(mktemp -d)
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

echo "building $(basename "$sdist") for sm_$arch with $(nproc) jobs"
started=$(date +%s)
(cd "$src" && MAMBA_FORCE_BUILD=TRUE MAMBA_KEEP_CUDA_BUILD=TRUE TORCH_CUDA_ARCH_LIST="$arch_list" \
    MAX_JOBS=$(nproc) "$python" -m pip install --quiet --no-build-isolation --no-deps --no-index \
    --target "$site" .)
echo "built in $(($(date +%s) - started)) s"

export PYTHONPATH="$site:$PWD"
# --noconftest: the shared fixtures need the pipeline's packages (Dagster, DuckDB), which the scan and
# block tests do not use.
"$python" -m pytest -q -p no:cacheprovider --noconftest -k cuda -rs \
    tests/models/test_selective_scan.py tests/models/test_mamba_block.py
"$python" -m benchmarks.scan --paths ours "mamba-ssm cuda" --lengths 14 128 512 2048 --states 16 64
