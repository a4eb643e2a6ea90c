"""Random submission delay: the HyperMamba paper's mitigation against front-running a keeper.

A keeper that always submits at the same moment after the nightly run is easy to anticipate; a
delay drawn uniformly from a configured window, from the operating system's randomness, is not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SubmissionJitter:
    """Waits a uniform random time in [0, window_secs] before each submission (0 disables it)."""

    window_secs: float = 0.0
    rng: random.Random = field(default_factory=random.SystemRandom)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if not self.window_secs >= 0:
            raise ValueError(f"jitter window must be >= 0 seconds, got {self.window_secs!r}")

    def wait(self) -> float:
        """Sleep the drawn delay and return it (recorded with the transaction)."""
        delay = self.rng.uniform(0.0, self.window_secs) if self.window_secs > 0 else 0.0
        if delay > 0:
            self.sleep(delay)
        return delay
