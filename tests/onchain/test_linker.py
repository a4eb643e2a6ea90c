"""C -> SBPF v0: compile with zig's clang, link with onchain.linker, verify, and run in LiteSVM."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorInstructionError,
)

from onchain.linker import (
    EM_BPF,
    ET_DYN,
    ET_REL,
    INSN_SIZE,
    R_BPF_64_32,
    R_BPF_64_RELATIVE,
    SHF_ALLOC,
    ElfFile,
    LinkError,
    link,
)
from onchain.toolchain import CompileError, compile_c
from onchain.verifier import SYSCALLS, VerifyError, verify

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    return link(compile_c(PROGRAMS / "hello.c"))


@pytest.fixture
def run(hello_so: bytes) -> Callable[..., TransactionMetadata | FailedTransactionMetadata]:
    """Send one instruction with `data` to a fresh LiteSVM holding the hello program."""
    svm = LiteSVM()
    program_id = Pubkey.new_unique()
    svm.add_program(program_id, hello_so)
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 1_000_000_000)

    def send(
        data: bytes, with_payer_account: bool = False
    ) -> TransactionMetadata | FailedTransactionMetadata:
        accounts = (
            [AccountMeta(payer.pubkey(), is_signer=True, is_writable=True)] if with_payer_account else []
        )
        message = Message([Instruction(program_id, data, accounts)], payer.pubkey())
        return svm.send_transaction(Transaction([payer], message, svm.latest_blockhash()))

    return send


def program_logs(meta: TransactionMetadata) -> list[str]:
    return [line.removeprefix("Program log: ") for line in meta.logs() if line.startswith("Program log: ")]


def text_of(so: bytes) -> tuple[int, bytes]:
    text = ElfFile.parse(so).section(".text")
    assert text is not None
    return text.offset, text.data


def find_insn(so: bytes, predicate: Callable[[int], bool]) -> int:
    """Index of the first .text instruction whose opcode satisfies `predicate` (skipping lddw tails)."""
    _, code = text_of(so)
    pc = 0
    while pc * INSN_SIZE < len(code):
        if predicate(code[pc * INSN_SIZE]):
            return pc
        pc += 2 if code[pc * INSN_SIZE] == 0x18 else 1
    raise AssertionError("no such instruction")


def patched(so: bytes, pc: int, insn: bytes) -> bytes:
    offset, _ = text_of(so)
    out = bytearray(so)
    out[offset + pc * INSN_SIZE : offset + (pc + 1) * INSN_SIZE] = insn
    return bytes(out)


def is_conditional_jump(opcode: int) -> bool:
    return opcode & 0x07 == 0x05 and opcode not in (0x05, 0x85, 0x8D, 0x95)


# --- compile and link -------------------------------------------------------------------------


def test_compile_c_returns_an_ebpf_relocatable_object() -> None:
    elf = ElfFile.parse(compile_c(PROGRAMS / "hello.c"))
    assert (elf.e_type, elf.e_machine) == (ET_REL, EM_BPF)
    assert elf.section(".rel.rodata") is not None  # the string and function pointer tables


def test_compile_error_carries_the_compiler_diagnostics(tmp_path: Path) -> None:
    source = tmp_path / "broken.c"
    source.write_text("int entrypoint( {\n")
    with pytest.raises(CompileError) as caught:
        compile_c(source)
    assert "broken.c:1:" in caught.value.stderr
    assert "error" in caught.value.stderr


def test_defines_and_include_dirs_reach_the_compiler(tmp_path: Path) -> None:
    (tmp_path / "answer.h").write_text("#define ANSWER_FROM_HEADER 40\n")
    source = tmp_path / "answer.c"
    source.write_text(
        '#include "answer.h"\n'
        "unsigned long long entrypoint(const unsigned char *in) { return ANSWER_FROM_HEADER + EXTRA; }\n"
    )
    with pytest.raises(CompileError, match="EXTRA"):
        compile_c(source, include_dirs=[tmp_path])
    code = ElfFile.parse(compile_c(source, include_dirs=[tmp_path], defines={"EXTRA": "2"})).section(".text")
    assert code is not None
    assert bytes.fromhex("b7000000 2a000000") in code.data  # r0 = 42


def test_linked_layout_is_what_the_sbpf_v0_loader_reads(hello_so: bytes) -> None:
    elf = ElfFile.parse(hello_so)
    assert (elf.e_type, elf.e_machine, elf.e_flags) == (ET_DYN, EM_BPF, 0)
    names = [s.name for s in elf.sections]
    assert names == ["", ".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    for section in elf.sections:
        if section.flags & SHF_ALLOC:
            assert section.offset == section.addr, section.name
    dynsym = {s.name: s for s in elf.symbols(elf.section(".dynsym"))}
    assert dynsym["entrypoint"].value == elf.e_entry
    assert {"sol_log_", "sol_log_64_"} <= set(dynsym)


def test_rodata_pointers_hold_the_address_in_the_upper_half(hello_so: bytes) -> None:
    """SBPF v0 reads a u32 at r_offset + 4 for relocations outside .text, so the address goes there."""
    elf = ElfFile.parse(hello_so)
    rodata = elf.section(".rodata")
    relocations = list(elf.relocations(elf.section(".rel.dyn")))
    in_rodata = [off for off, rtype, _ in relocations if rtype == R_BPF_64_RELATIVE and off >= rodata.offset]
    targets = [struct.unpack_from("<Q", hello_so, off)[0] for off in in_rodata]
    assert targets and all(value & 0xFFFFFFFF == 0 for value in targets)
    strings = [
        hello_so[t >> 32 : hello_so.index(b"\0", t >> 32)] for t in targets if t >> 32 >= rodata.offset
    ]
    assert strings == [b"gm from C", b"gn from C", b"wagmi from C"]
    syscalls = [off for off, rtype, _ in relocations if rtype == R_BPF_64_32]
    assert all(struct.unpack_from("<i", hello_so, off + 4)[0] == -1 for off in syscalls)


def test_callx_register_is_moved_to_imm(hello_so: bytes) -> None:
    _, code = text_of(hello_so)
    pc = find_insn(hello_so, lambda op: op == 0x8D)
    regs, imm = code[pc * INSN_SIZE + 1], struct.unpack_from("<i", code, pc * INSN_SIZE + 4)[0]
    assert regs == 0 and 0 <= imm < 10


@pytest.mark.parametrize("zero_initialised", [False, True], ids=["data", "bss"])
def test_writable_globals_are_refused(zero_initialised: bool) -> None:
    defines = {"ZERO_INITIALISED": "1"} if zero_initialised else {}
    section = ".bss" if zero_initialised else ".data"
    with pytest.raises(LinkError, match=rf"section \{section} \(defines counter\)"):
        link(compile_c(PROGRAMS / "writable_global.c", defines=defines))


def test_missing_entrypoint_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "no_entry.c"
    source.write_text("unsigned long long start(const unsigned char *in) { return in[0]; }\n")
    with pytest.raises(LinkError, match="entrypoint"):
        link(compile_c(source))


# --- verify -----------------------------------------------------------------------------------


def test_verify_accepts_the_linked_program(hello_so: bytes) -> None:
    verify(hello_so)


def test_verify_rejects_an_unknown_syscall_that_litesvm_would_load() -> None:
    so = link(compile_c(PROGRAMS / "unknown_syscall.c"))
    with pytest.raises(VerifyError, match="unknown syscall 'sol_launch_rockets'"):
        verify(so)
    svm = LiteSVM()
    svm.add_program(Pubkey.new_unique(), so)  # LiteSVM skips the deploy-time check


def test_verify_honours_the_known_syscalls_argument(hello_so: bytes) -> None:
    with pytest.raises(VerifyError, match="sol_log_64_"):
        verify(hello_so, known_syscalls=SYSCALLS - {"sol_log_64_"})


def test_verify_rejects_jmp32(hello_so: bytes) -> None:
    pc = find_insn(hello_so, is_conditional_jump)
    _, code = text_of(hello_so)
    insn = bytearray(code[pc * INSN_SIZE : (pc + 1) * INSN_SIZE])
    insn[0] = insn[0] & 0xF8 | 0x06
    with pytest.raises(VerifyError, match=rf"insn #{pc} .*JMP32"):
        verify(patched(hello_so, pc, bytes(insn)))


def test_verify_rejects_a_jump_out_of_bounds(hello_so: bytes) -> None:
    pc = find_insn(hello_so, is_conditional_jump)
    _, code = text_of(hello_so)
    insn = bytearray(code[pc * INSN_SIZE : (pc + 1) * INSN_SIZE])
    struct.pack_into("<h", insn, 2, 0x7FFF)
    with pytest.raises(VerifyError, match=rf"insn #{pc} .*outside \.text"):
        verify(patched(hello_so, pc, bytes(insn)))


def test_verify_rejects_a_jump_into_an_lddw(hello_so: bytes) -> None:
    lddw = find_insn(hello_so, lambda op: op == 0x18)
    pc = find_insn(hello_so, is_conditional_jump)
    _, code = text_of(hello_so)
    insn = bytearray(code[pc * INSN_SIZE : (pc + 1) * INSN_SIZE])
    struct.pack_into("<h", insn, 2, lddw + 1 - (pc + 1))
    with pytest.raises(VerifyError, match="middle of an lddw"):
        verify(patched(hello_so, pc, bytes(insn)))


def test_verify_rejects_division_by_an_immediate_zero(hello_so: bytes) -> None:
    pc = find_insn(hello_so, lambda op: op == 0xB7)  # some mov64 imm
    with pytest.raises(VerifyError, match=rf"insn #{pc} .*division by an immediate zero"):
        verify(patched(hello_so, pc, bytes.fromhex("3701000000000000")))  # r1 /= 0


def test_verify_rejects_a_call_minus_one_without_relocation(hello_so: bytes) -> None:
    pc = find_insn(hello_so, lambda op: op == 0x8D)  # replace the callx by an unrelocated call -1
    with pytest.raises(VerifyError, match=rf"insn #{pc} .*no syscall relocation"):
        verify(patched(hello_so, pc, bytes.fromhex("85100000ffffffff")))


# --- run in LiteSVM ---------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    total = 7
    for byte in data:
        total = (total * 31 + byte) % 2**64
    return total


@pytest.mark.parametrize(
    ("index", "with_payer_account", "greeting"),
    [(0, False, "gm from C"), (1, False, "gn from C"), (5, True, "wagmi from C")],
)
def test_greeting_logs_rodata_strings(run, index: int, with_payer_account: bool, greeting: str) -> None:
    data = bytes([0, index])
    meta = run(data, with_payer_account)
    assert isinstance(meta, TransactionMetadata), meta
    accounts = int(with_payer_account)
    assert program_logs(meta) == [
        "hello from C",
        greeting,
        f"{accounts:#x}, {len(data):#x}, {index:#x}, {checksum(data):#x}, 0x0",
    ]
    consumed = next(m for line in meta.logs() if (m := re.search(r"consumed (\d+) of", line)))
    assert int(consumed.group(1)) == meta.compute_units_consumed()
    assert 300 <= meta.compute_units_consumed() <= 1_000  # three log syscalls at >= 100 CU each


@pytest.mark.parametrize(("op", "x", "result"), [(0, 9, 18), (1, 9, 81), (3, 12, 144)])
def test_function_pointer_table_in_rodata(run, op: int, x: int, result: int) -> None:
    meta = run(bytes([2, op, x]))
    assert isinstance(meta, TransactionMetadata), meta
    assert program_logs(meta) == [f"{op & 1:#x}, {x:#x}, {result:#x}, 0x0, 0x0"]


@pytest.mark.parametrize("code", [1, 42, 255])
def test_custom_program_error(run, code: int) -> None:
    failed = run(bytes([1, code]))
    assert isinstance(failed, FailedTransactionMetadata)
    assert failed.err() == TransactionErrorInstructionError(0, InstructionErrorCustom(code))
    assert any(f"custom program error: {code:#x}" in line for line in failed.meta().logs())


def test_builtin_error_in_the_upper_half(run) -> None:
    failed = run(bytes([9]))
    assert isinstance(failed, FailedTransactionMetadata)
    expected = TransactionErrorInstructionError(0, InstructionErrorFieldless.InvalidInstructionData)
    assert failed.err() == expected
    assert program_logs(failed.meta()) == ["unknown instruction"]
