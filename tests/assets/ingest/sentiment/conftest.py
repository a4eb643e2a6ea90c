"""Shared helpers: the hand-written sentiment fixtures and an HTTP client that records its waits."""

import json
from pathlib import Path
from typing import Any

import pytest

from assets.ingest.http import HttpClient, RetryPolicy

FIXTURES = Path(__file__).parents[3] / "fixtures" / "sentiment"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


@pytest.fixture
def waits() -> list[float]:
    """The pauses the client asked for (it never really sleeps, so tests stay fast)."""
    return []


@pytest.fixture
def client(waits: list[float]) -> HttpClient:
    return HttpClient(retry=RetryPolicy(attempts=3, first_backoff_s=0.25), sleep=waits.append)
