"""Building, caching and loading the C kernels, and what the scan does where they cannot be built."""

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from models import cpu_scan_library
from models.cpu_scan_library import CACHE_ENV, KernelUnavailableError, load_cpu_scan
from models.selective_scan import selective_scan, selective_scan_reference
from tests.models.test_selective_scan import make_inputs


@pytest.fixture
def kernel_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "kernels"))
    return tmp_path / "kernels"


@pytest.fixture
def fresh_availability() -> Iterator[None]:
    """`cpu_kernels_available` remembers its answer per process; start and leave it unknown."""
    cpu_scan_library.cpu_kernels_available.cache_clear()
    yield
    cpu_scan_library.cpu_kernels_available.cache_clear()


def test_builds_once_into_the_cache_and_reuses_the_library(kernel_cache: Path) -> None:
    library = load_cpu_scan()
    assert library.scan_chunk() == cpu_scan_library.CHECKPOINT_EVERY
    (built,) = kernel_cache.glob("cpu_scan-*.so")
    modified = built.stat().st_mtime_ns
    load_cpu_scan()
    assert [path.name for path in kernel_cache.iterdir()] == [built.name]
    assert built.stat().st_mtime_ns == modified


def test_a_failing_compiler_is_reported_with_its_command_and_leaves_no_file(
    kernel_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "false")  # a "compiler" that exits 1
    with pytest.raises(KernelUnavailableError, match=r"false -std=gnu11 .* failed"):
        load_cpu_scan()
    assert not kernel_cache.exists() or not any(kernel_cache.iterdir())


def test_no_compiler_at_all_says_how_to_get_one(kernel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(KernelUnavailableError, match="no C compiler found: install gcc or set CC"):
        load_cpu_scan()


def test_without_kernels_the_scan_warns_once_and_runs_the_reference_loop(
    monkeypatch: pytest.MonkeyPatch, fresh_availability: None
) -> None:
    def unavailable() -> None:
        raise KernelUnavailableError("no C compiler found: install gcc or set CC to build the CPU scan")

    monkeypatch.setattr(cpu_scan_library, "_loaded", unavailable)
    inputs = make_inputs(2, 3, 4, 9)
    with pytest.warns(RuntimeWarning, match="falls back to torch loops"):
        y = selective_scan(**inputs, delta_softplus=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selective_scan(**inputs, delta_softplus=True)
    torch.testing.assert_close(y, selective_scan_reference(**inputs, delta_softplus=True))


def test_a_new_build_removes_other_versions_older_than_a_day(kernel_cache: Path) -> None:
    kernel_cache.mkdir(parents=True)
    day_old = os.path.getmtime(kernel_cache) - cpu_scan_library.STALE_BUILD_SECONDS - 60
    stale = [kernel_cache / "cpu_scan-0123456789abcdef.so", kernel_cache / ".cpu_scan-0123456789abcdef.77.so"]
    recent = kernel_cache / "cpu_scan-fedcba9876543210.so"  # another checkout may be about to load it
    unrelated = kernel_cache / "notes.txt"
    for path in (*stale, recent, unrelated):
        path.write_bytes(b"")
    for path in (*stale, unrelated):
        os.utime(path, (day_old, day_old))
    load_cpu_scan()
    (built,) = (path for path in kernel_cache.glob("cpu_scan-*.so") if path != recent)
    left = sorted(path.name for path in kernel_cache.iterdir())
    assert left == sorted([built.name, recent.name, "notes.txt"])


@pytest.mark.parametrize("fill", [True, False])
def test_kernel_buffers_skip_torchs_fill_and_leave_the_setting_as_it_was(fill: bool) -> None:
    """The NaN fill is off while the buffer is allocated, and back as it was after, even when the
    allocation fails."""
    deterministic = torch.utils.deterministic
    before = deterministic.fill_uninitialized_memory
    deterministic.fill_uninitialized_memory = fill
    try:
        like = torch.zeros(1, dtype=torch.float64)
        seen = []

        class Spy:
            def new_empty(self, shape: tuple[int, ...]) -> torch.Tensor:
                seen.append(deterministic.fill_uninitialized_memory)
                return like.new_empty(shape)

        buffer = cpu_scan_library.kernel_buffer(Spy(), 2, 3)
        assert seen == [False] and buffer.shape == (2, 3) and buffer.dtype == torch.float64
        assert deterministic.fill_uninitialized_memory is fill
        with pytest.raises(RuntimeError):
            cpu_scan_library.kernel_buffer(like, -1)
        assert deterministic.fill_uninitialized_memory is fill
    finally:
        deterministic.fill_uninitialized_memory = before


def test_kernels_from_another_copy_of_the_sources_serve_every_call_within(tmp_path: Path) -> None:
    """`build_elsewhere` compiles a copy of the sources (another revision's, for benchmarks/kernels_ab.py);
    inside `kernels_from` the scan runs on that build, with the same results, and after it on ours."""
    for source in cpu_scan_library.SOURCES:
        (tmp_path / source.name).write_bytes(source.read_bytes())
    other = cpu_scan_library.build_elsewhere(tmp_path / "cpu_scan.c", tmp_path / "other.so")
    ours = cpu_scan_library.cpu_kernel("scan_forward", torch.float32)
    inputs = make_inputs(2, 3, 16, 70, dtype=torch.float32)
    expected = selective_scan(**inputs, delta_softplus=True)
    assert torch.isfinite(expected).all()
    with cpu_scan_library.kernels_from(other):
        assert cpu_scan_library.cpu_kernel("scan_forward", torch.float32) is other.scan_forward_f32
        torch.testing.assert_close(selective_scan(**inputs, delta_softplus=True), expected, rtol=0, atol=0)
    assert cpu_scan_library.cpu_kernel("scan_forward", torch.float32) is ours
