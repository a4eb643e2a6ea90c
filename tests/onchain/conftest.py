from __future__ import annotations

import pytest

from onchain.build import compile_program
from tests.onchain.guard import Guard


@pytest.fixture(scope="session")
def program() -> bytes:
    """The risk guard, compiled, linked and verified once per test session (well under a second)."""
    return compile_program()


@pytest.fixture
def guard(program: bytes) -> Guard:
    return Guard(program)
