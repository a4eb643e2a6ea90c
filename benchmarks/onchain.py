"""On-chain risk guard: program size, compute units per instruction, and signals per second on LiteSVM.

Run: `.venv/bin/python -m benchmarks.onchain [--signals 2000] [--repeats 3]`.
The program is built from `onchain/program/` and deployed on an in-process LiteSVM, as the tests
and the paper-trading keeper run it. Three tables:

* size: the linked .so (what a deploy pays rent for) and its .text (the instructions; SBPF v0
  programs are bounded in size and every byte of .text is verified and JIT-compiled at load).
* compute units: every instruction once, and `push_signal` along each of its paths (open from flat,
  add to a position - the average-entry update -, partial close - realized PnL -, flip, and a
  rejection at the leverage check, which is the last one, so every check before it runs), on two
  deployments: without an oracle and with one configured (its quote account passed and checked).
  The issue's target is <= 2,000 CU for `push_signal` with every check; the worst case is compared
  to it. Keys are derived from fixed seeds, so PDA bumps, and with them the units, are repeatable.
* throughput: signals sent one by one from Python through `RiskGuardClient` + `LocalCluster.send`
  (build, sign, send, clock sync), next to building the instruction alone and to LiteSVM's bare
  `send_transaction` on pre-built signed transactions; the gap is the Python client's overhead. The
  targets alternate, every signal must be accepted, and each case's best of `repeats` is taken.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata

from assets.markdown import markdown_table
from onchain.build import compile_program
from onchain.client import Limits, OracleQuote
from onchain.cluster import TxOutcome
from onchain.deployment import local_guard
from onchain.linker import ElfFile

TARGET_PUSH_SIGNAL_CU = 2_000
START_TIME = 1_700_000_000
MARKET = "BTCUSDT"
CAPITAL = 1_000_000_000  # quote units: $1,000 at 1e6 units per dollar
PRICE = 6_000_000  # quote units per lot
CONFIDENCE_BPS = 9_000
LAMPORTS = 10**12

# Signals may come every second (min_interval 0) so the throughput run is not throttled; leverage
# is capped at 1.5x so that a 290-lot long is refused at the last check while passing every other.
LIMITS = Limits(
    max_order=100,
    max_position=300,
    max_notional=2_400_000_000,
    max_staleness_secs=120,
    min_interval_secs=0,
    oracle_max_age_secs=300,
    max_leverage_bps=15_000,
    daily_loss_bps=500,
    max_drawdown_bps=1_000,
    min_confidence_bps=5_000,
    oracle_max_deviation_bps=200,
    oracle_max_conf_bps=100,
)

# (case, target position, price, expected error or None), run in order on one book.
SIGNAL_PATHS: tuple[tuple[str, int, int, str | None], ...] = (
    ("open long 100 from flat", 100, PRICE, None),
    ("add to 200 (average entry)", 200, PRICE + 30_000, None),
    ("to 290: LeverageLimitExceeded (all checks)", 290, PRICE, "LeverageLimitExceeded"),
    ("partial close to 50 (realized PnL)", 50, PRICE - 10_000, None),
    ("flip to short 50", -50, PRICE, None),
)


def _keypair(seed: int) -> Keypair:
    return Keypair.from_seed(bytes([seed]) * 32)


@dataclass
class Deployment:
    """The guard deployed on a fresh LiteSVM, with fixed-seed keys and the clock pinned."""

    program: bytes
    with_oracle: bool = False
    authority: Keypair = field(default_factory=lambda: _keypair(1))
    keeper: Keypair = field(default_factory=lambda: _keypair(2))
    oracle: Pubkey | None = None
    sequence: int = 0
    now: int = START_TIME

    def __post_init__(self) -> None:
        deployed = local_guard(_keypair(3).pubkey(), self.authority, self.keeper, program=self.program)
        self.client, self.cluster = deployed.client, deployed.cluster
        self.cluster.set_time(self.now)
        self.limits = LIMITS
        if self.with_oracle:
            self.oracle = _keypair(4).pubkey()
            quote = OracleQuote(price=PRICE, conf=PRICE // 200, publish_time=START_TIME)
            data = self.client.encode_oracle_quote(quote)
            self.cluster.set_account(self.oracle, Account(LAMPORTS, data, _keypair(5).pubkey(), False, 0))
            self.limits = replace(LIMITS, oracle=self.oracle)
        self.book = self.client.book_address(MARKET)

    def admin(self, instruction: Instruction) -> TxOutcome:
        return self.cluster.send([instruction], [self.authority], self.authority)

    def signal_instruction(self, target: int, price: int = PRICE) -> Instruction:
        """The next signal, stamped now (the oracle account passed when one is configured)."""
        self.sequence += 1
        return self.client.push_signal(
            self.keeper.pubkey(),
            self.book,
            self.sequence,
            target,
            price,
            self.now,
            CONFIDENCE_BPS,
            self.oracle,
        )

    def signal(self, target: int, price: int = PRICE) -> TxOutcome:
        """Advance the clock a second and push the next signal."""
        self.now += 1
        self.cluster.set_time(self.now)
        outcome = self.cluster.send([self.signal_instruction(target, price)], [self.keeper], self.keeper)
        if not outcome.accepted:
            self.sequence -= 1  # a rejected transaction leaves the book's last sequence as it was
        return outcome


def _expect(outcome: TxOutcome, error: str | None, case: str) -> int:
    """The outcome's compute units, once it is the one the case expects."""
    got = None if outcome.accepted else outcome.error_name
    if got != error:
        raise AssertionError(f"{case}: expected {error or 'accepted'}, got {got}: {outcome.logs[-4:]}")
    return outcome.compute_units


def compute_units(program: bytes, with_oracle: bool) -> list[tuple[str, str, str, int]]:
    """(instruction, case, outcome, CU) for every instruction and every `push_signal` path."""
    guard = Deployment(program, with_oracle)
    authority, client = guard.authority.pubkey(), guard.client
    rows: list[tuple[str, str, str, int]] = []

    def admin(name: str, case: str, instruction: Instruction) -> None:
        rows.append((name, case, "accepted", _expect(guard.admin(instruction), None, name)))

    admin("initialize", "create config", client.initialize(authority, guard.keeper.pubkey(), guard.limits))
    admin("open_book", "create book", client.open_book(authority, MARKET, CAPITAL))
    admin("set_limits", "same limits", client.set_limits(authority, guard.limits))
    admin("set_keeper", "same keeper", client.set_keeper(authority, guard.keeper.pubkey()))
    for case, target, price, error in SIGNAL_PATHS:
        units = _expect(guard.signal(target, price), error, case)
        rows.append(("push_signal", case, error or "accepted", units))
    admin("pause", "config only", client.pause(authority))
    admin("resume", "one book", client.resume(authority, [guard.book]))
    return rows


def _best_seconds(prepare: Callable[[], Callable[[], int]], signals: int, repeats: int) -> float:
    """Best wall time of `repeats` runs (each prepared untimed), each of which must accept every signal."""
    best = float("inf")
    for _ in range(repeats):
        run = prepare()
        started = time.perf_counter()
        accepted = run()
        best = min(best, time.perf_counter() - started)
        assert accepted == signals, f"{accepted} of {signals} signals accepted"
    return best


def throughput(program: bytes, signals: int, repeats: int) -> list[dict[str, object]]:
    guard = Deployment(program)
    authority = guard.authority.pubkey()
    for instruction in (
        guard.client.initialize(authority, guard.keeper.pubkey(), guard.limits),
        guard.client.open_book(authority, MARKET, CAPITAL),
    ):
        _expect(guard.admin(instruction), None, "setup")
    targets = [10 if i % 2 == 0 else -10 for i in range(signals)]

    def end_to_end() -> int:
        return sum(guard.signal(target).accepted for target in targets)

    def build_only() -> int:
        sequence = guard.sequence
        built = [guard.signal_instruction(target) for target in targets]
        guard.sequence = sequence  # nothing was sent
        return len(built)

    def bare_send() -> Callable[[], int]:
        # One blockhash for all: each transaction differs by its sequence number, so none repeats,
        # and every one is stamped at the pinned clock's time (min_interval 0 lets them share it).
        blockhash = guard.cluster.svm.latest_blockhash()
        keeper = guard.keeper
        transactions = [
            Transaction(
                [keeper],
                Message.new_with_blockhash([guard.signal_instruction(t)], keeper.pubkey(), blockhash),
                blockhash,
            )
            for t in targets
        ]
        send = guard.cluster.svm.send_transaction
        return lambda: sum(isinstance(send(tx), TransactionMetadata) for tx in transactions)

    cases: dict[str, Callable[[], Callable[[], int]]] = {
        "client + LocalCluster.send (end to end)": lambda: end_to_end,
        "client.push_signal only (build, no send)": lambda: build_only,
        "LiteSVM send_transaction only (pre-built, signed)": bare_send,
    }
    rows = []
    for case, prepare in cases.items():
        seconds = _best_seconds(prepare, signals, repeats)
        rows.append(
            {
                "case": case,
                "signals": f"{signals:,}",
                "accepted": f"{signals:,}" if "build" not in case else "",
                "seconds": seconds,
                "signals/s": f"{signals / seconds:,.0f}",
                "us/signal": seconds / signals * 1e6,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signals", type=int, default=2_000, help="signals per throughput run")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per case, best taken")
    args = parser.parse_args()
    program = compile_program()

    text = ElfFile.parse(program).section(".text")
    assert text is not None, "the program has no .text section"
    size = pd.DataFrame(
        [{"program": "risk_guard.so", "bytes": f"{len(program):,}", ".text bytes": f"{text.size:,}"}]
    )
    print(markdown_table(size))

    plain, oracle = compute_units(program, False), compute_units(program, True)
    units = pd.DataFrame(
        [
            {
                "instruction": name,
                "case": case,
                "outcome": outcome,
                "CU": f"{cu:,}",
                "CU, oracle on": f"{cu_oracle:,}",
            }
            for (name, case, outcome, cu), (*same, cu_oracle) in zip(plain, oracle, strict=True)
            if same == [name, case, outcome]
        ]
    )
    assert len(units) == len(plain), "the two deployments took different paths"
    worst = max(cu for name, *_, cu in plain + oracle if name == "push_signal")
    print()
    print(markdown_table(units))
    print()
    verdict = "met" if worst <= TARGET_PUSH_SIGNAL_CU else "NOT met"
    print(f"push_signal worst case: {worst:,} CU; target <= {TARGET_PUSH_SIGNAL_CU:,} CU: {verdict}")
    print()
    print(markdown_table(pd.DataFrame(throughput(program, args.signals, args.repeats)), "{:,.2f}"))


if __name__ == "__main__":
    main()
