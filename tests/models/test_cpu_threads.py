"""The kernels' thread policy (models.cpu_threads) and the pool of helper threads it relies on."""

import os
import threading
import time
from collections.abc import Iterator

import pytest
import torch

from models import cpu_threads
from models.cpu_threads import kernel_threads, kernels_take_the_cores
from models.selective_scan import selective_scan_cpu
from tests.models.test_selective_scan import make_inputs

CRYPTOMAMBA_BLOCK = (32, 28, 6, 64)  # batch, d_inner, length, d_state of its smallest blocks


def test_next_to_torch_only_large_work_takes_a_second_thread(two_torch_threads: None) -> None:
    assert kernel_threads(*CRYPTOMAMBA_BLOCK) == 1
    assert kernel_threads(32, 128, 2048, 64) == 2  # the scan benchmark's longest case


def test_training_gives_the_kernels_the_cores_and_torch_one_thread(two_torch_threads: None) -> None:
    with kernels_take_the_cores():
        assert torch.get_num_threads() == 1
        assert kernel_threads(*CRYPTOMAMBA_BLOCK) == 2
        assert kernel_threads(1, 1, 1, 16) == 1  # too little work to hand to a helper
        with kernels_take_the_cores(3):
            assert kernel_threads(32, 128, 2048, 64) == 3
        assert kernel_threads(32, 128, 2048, 64) == 2
    assert torch.get_num_threads() == 2
    assert kernel_threads(*CRYPTOMAMBA_BLOCK) == 1


def test_the_thread_counts_come_back_after_an_error(two_torch_threads: None) -> None:
    with pytest.raises(RuntimeError, match="boom"), kernels_take_the_cores():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    assert kernel_threads(*CRYPTOMAMBA_BLOCK) == 1


def scan_values_and_gradients(seed: int) -> list[torch.Tensor]:
    inputs = make_inputs(3, 5, 16, 70, seed=seed)
    y = selective_scan_cpu(**inputs, delta_softplus=True)
    leaves = [tensor for tensor in inputs.values() if tensor is not None]
    return [y, *torch.autograd.grad(y.square().sum(), leaves)]


def assert_same(results: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    for result, reference in zip(results, expected, strict=True):
        torch.testing.assert_close(result, reference, rtol=1e-12, atol=1e-14)


@pytest.fixture
def pool_for_every_call(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every kernel call on two threads, however small."""
    monkeypatch.setattr(cpu_threads, "MIN_WORK_PER_THREAD", 1)
    with kernels_take_the_cores(2):
        yield


def test_the_pool_runs_job_after_job_and_callers_side_by_side(pool_for_every_call: None) -> None:
    """Two Python threads call kernels at once: one gets the pool, the other runs alone; both exact."""
    with kernels_take_the_cores(1):
        expected = {seed: scan_values_and_gradients(seed) for seed in (1, 2)}
    failures: list[BaseException] = []

    def call_repeatedly(seed: int) -> None:
        try:
            for _ in range(20):
                assert_same(scan_values_and_gradients(seed), expected[seed])
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    callers = [threading.Thread(target=call_repeatedly, args=(seed,), daemon=True) for seed in (1, 2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=120)
    assert not any(caller.is_alive() for caller in callers), "a kernel call never returned"
    assert not failures, failures


def test_a_forked_child_starts_its_own_helpers(pool_for_every_call: None) -> None:
    """After fork() the parent's helpers do not exist in the child; the child must not wait for them."""
    expected = scan_values_and_gradients(3)  # the parent's helpers are running now
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status, never return into pytest
        try:
            assert_same(scan_values_and_gradients(3), expected)
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + 60
    while (finished := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if finished[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in a kernel call")
    assert os.waitstatus_to_exitcode(finished[1]) == 0
