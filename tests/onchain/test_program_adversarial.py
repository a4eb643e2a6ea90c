"""Attacks on the risk guard through real transactions: forged signers, substituted accounts,
malformed instruction data and extreme values. Each must fail with the exact Anchor or rule error."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from onchain.client import LOADER_V3, Limits, programdata_address
from tests.onchain.guard import CAPITAL, DEFAULT_LIMITS, PRICE, Guard, rejected_with

I64_MIN, I64_MAX, U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
CONFIG, BOOK, KEEPER = 0, 1, 2


def _push(guard: Guard, sequence: int = 1, target: int = 10) -> Instruction:
    return guard.client.push_signal(
        guard.keeper.pubkey(), guard.book_address, sequence, target, PRICE, guard.cluster.now(), 9_000
    )


def _swap(
    guard: Guard, instruction: Instruction, index: int, key: Pubkey, *, writable: bool = True
) -> Instruction:
    return guard.with_keys(instruction, {index: AccountMeta(key, is_signer=False, is_writable=writable)})


def test_a_keeper_that_did_not_sign_is_refused(guard: Guard) -> None:
    unsigned = guard.with_keys(_push(guard), {KEEPER: AccountMeta(guard.keeper.pubkey(), False, False)})
    assert rejected_with(guard.send(unsigned, guard.outsider), "AccountNotSigner")


def test_an_authority_that_did_not_sign_is_refused(guard: Guard) -> None:
    pause = guard.client.pause(guard.authority.pubkey())
    unsigned = guard.with_keys(pause, {1: AccountMeta(guard.authority.pubkey(), False, False)})
    assert rejected_with(guard.send(unsigned, guard.outsider), "AccountNotSigner")


def test_a_config_copied_to_an_account_the_program_does_not_own_is_refused(guard: Guard) -> None:
    forged = guard.put_account(Pubkey.new_unique(), guard.config_data(), owner=Pubkey.new_unique())
    assert rejected_with(
        guard.send(_swap(guard, _push(guard), CONFIG, forged), guard.keeper), "AccountOwnedByWrongProgram"
    )
    pause = _swap(guard, guard.client.pause(guard.authority.pubkey()), CONFIG, forged)
    assert rejected_with(guard.admin(pause), "AccountOwnedByWrongProgram")


def test_a_config_copied_to_another_program_address_is_refused(guard: Guard) -> None:
    forged = guard.put_account(Pubkey.new_unique(), guard.config_data())
    assert rejected_with(
        guard.send(_swap(guard, _push(guard), CONFIG, forged, writable=False), guard.keeper),
        "ConstraintHasOne",
    )
    pause = _swap(guard, guard.client.pause(guard.authority.pubkey()), CONFIG, forged)
    assert rejected_with(guard.admin(pause), "ConstraintSeeds")


def test_a_book_passed_as_the_config_is_refused(guard: Guard) -> None:
    swapped = _swap(guard, _push(guard), CONFIG, guard.book_address)
    assert rejected_with(guard.send(swapped, guard.keeper), "AccountDiscriminatorMismatch")


def test_a_config_passed_as_the_book_is_refused(guard: Guard) -> None:
    swapped = _swap(guard, _push(guard), BOOK, guard.client.config_address())
    assert rejected_with(guard.send(swapped, guard.keeper), "AccountDiscriminatorMismatch")


def test_a_book_the_program_does_not_own_is_refused(guard: Guard) -> None:
    book_data = guard.cluster.account(guard.book_address) or b""
    forged = guard.put_account(Pubkey.new_unique(), book_data, owner=Pubkey.new_unique())
    assert rejected_with(
        guard.send(_swap(guard, _push(guard), BOOK, forged), guard.keeper), "AccountOwnedByWrongProgram"
    )


def test_a_book_copied_to_another_address_is_refused(guard: Guard) -> None:
    book_data = guard.cluster.account(guard.book_address) or b""
    forged = guard.put_account(Pubkey.new_unique(), book_data)
    assert rejected_with(
        guard.send(_swap(guard, _push(guard), BOOK, forged), guard.keeper), "ConstraintSeeds"
    )
    resume = guard.client.resume(guard.authority.pubkey(), [forged])
    assert rejected_with(guard.admin(resume), "ConstraintSeeds")


def test_a_read_only_book_is_refused(guard: Guard) -> None:
    read_only = _swap(guard, _push(guard), BOOK, guard.book_address, writable=False)
    assert rejected_with(guard.send(read_only, guard.keeper), "ConstraintMut")


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"\x01\x02\x03", "AccountDiscriminatorNotFound"), (b"", "AccountDiscriminatorNotFound")],
)
def test_account_data_shorter_than_a_discriminator_is_refused(guard: Guard, data: bytes, error: str) -> None:
    short = guard.put_account(Pubkey.new_unique(), data)
    assert rejected_with(guard.send(_swap(guard, _push(guard), BOOK, short), guard.keeper), error)


def test_a_truncated_book_is_refused(guard: Guard) -> None:
    book_data = guard.cluster.account(guard.book_address) or b""
    truncated = guard.put_account(Pubkey.new_unique(), book_data[:40])
    assert rejected_with(
        guard.send(_swap(guard, _push(guard), BOOK, truncated), guard.keeper), "AccountDidNotDeserialize"
    )


def test_missing_accounts_are_refused(guard: Guard) -> None:
    push = _push(guard)
    short = Instruction(push.program_id, push.data, list(push.accounts[:2]))
    assert rejected_with(guard.send(short, guard.keeper), "AccountNotEnoughKeys")


def test_a_fake_system_program_is_refused(guard: Guard) -> None:
    open_book = guard.client.open_book(guard.authority.pubkey(), "ETHUSDT", CAPITAL)
    assert rejected_with(
        guard.admin(_swap(guard, open_book, 3, Pubkey.new_unique(), writable=False)), "InvalidProgramId"
    )


def test_a_book_at_a_non_canonical_address_cannot_be_opened(guard: Guard) -> None:
    open_book = guard.client.open_book(guard.authority.pubkey(), "ETHUSDT", CAPITAL)
    elsewhere = guard.client.book_address("SOLUSDT")
    assert rejected_with(guard.admin(_swap(guard, open_book, 1, elsewhere)), "ConstraintSeeds")


def test_the_config_cannot_be_initialized_twice(guard: Guard) -> None:
    again = guard.client.initialize(guard.outsider.pubkey(), guard.outsider.pubkey(), DEFAULT_LIMITS)
    outcome = guard.send(again, guard.outsider)
    assert not outcome.accepted
    assert guard.client.decode_config(guard.config_data()).authority == guard.authority.pubkey()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "InstructionMissing"),
        (b"\x00" * 7, "InstructionMissing"),
        (b"\xde\xad\xbe\xef" * 2, "InstructionFallbackNotFound"),
    ],
)
def test_malformed_instruction_data_is_refused(guard: Guard, data: bytes, error: str) -> None:
    push = _push(guard)
    assert rejected_with(guard.send(Instruction(push.program_id, data, push.accounts), guard.keeper), error)


def test_truncated_arguments_are_refused(guard: Guard) -> None:
    push = _push(guard)
    truncated = Instruction(push.program_id, bytes(push.data)[:-1], push.accounts)
    assert rejected_with(guard.send(truncated, guard.keeper), "InstructionDidNotDeserialize")


@pytest.mark.parametrize(
    ("target", "error"), [(I64_MIN, "OrderTooLarge"), (I64_MAX, "OrderTooLarge"), (-1, None), (1, None)]
)
def test_extreme_targets(guard: Guard, target: int, error: str | None) -> None:
    outcome = guard.signal(target)
    assert outcome.accepted if error is None else rejected_with(outcome, error)


def test_extreme_timestamps_and_prices(guard: Guard) -> None:
    assert rejected_with(guard.signal(1, ts=I64_MAX), "SignalFromFuture")
    assert rejected_with(guard.signal(1, ts=I64_MIN), "SignalStale")
    assert rejected_with(guard.signal(1, ts=-1), "SignalStale")
    assert rejected_with(guard.signal(1, price=U64_MAX), "NotionalLimitExceeded")


def test_the_largest_sequence_number_is_the_last(guard: Guard) -> None:
    guard.expect_ok(guard.signal(1, sequence=U64_MAX))
    guard.advance(DEFAULT_LIMITS.min_interval_secs)
    assert rejected_with(guard.signal(2, sequence=U64_MAX), "SequenceReplayed")


def test_durations_beyond_i64_overflow_instead_of_wrapping(guard: Guard) -> None:
    guard.set_limits(max_staleness_secs=U64_MAX)
    assert rejected_with(guard.signal(1), "MathOverflow")


def test_limits_at_their_extremes_are_stored_exactly(guard: Guard) -> None:
    extreme = Limits(
        **{
            **DEFAULT_LIMITS.__dict__,
            "max_order": U64_MAX,
            "max_notional": U64_MAX,
            "max_leverage_bps": 2**32 - 1,
        }
    )
    guard.expect_ok(guard.admin(guard.client.set_limits(guard.authority.pubkey(), extreme)))
    assert guard.client.decode_config(guard.config_data()).limits == extreme
    guard.expect_ok(guard.signal(DEFAULT_LIMITS.max_position))


def test_only_the_upgrade_authority_initializes_the_config(program: bytes) -> None:
    fresh = Guard(program, ready=False)
    squatter = fresh.client.initialize(fresh.outsider.pubkey(), fresh.outsider.pubkey(), DEFAULT_LIMITS)
    assert rejected_with(fresh.send(squatter, fresh.outsider), "NotUpgradeAuthority")
    initialize = fresh.client.initialize(fresh.authority.pubkey(), fresh.keeper.pubkey(), DEFAULT_LIMITS)
    program_data = fresh.cluster.account(programdata_address(fresh.client.program_id)) or b""
    for owner, error in ((None, "AccountOwnedByWrongProgram"), (LOADER_V3, "ConstraintSeeds")):
        copy = fresh.put_account(Pubkey.new_unique(), program_data, owner=owner)
        assert rejected_with(fresh.admin(_swap(fresh, initialize, 2, copy, writable=False)), error)
    fresh.expect_ok(fresh.admin(initialize))
