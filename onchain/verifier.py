"""The deploy-time checks of the upgradeable loader that LiteSVM's `add_program` does not run.

LiteSVM loads a program without the strict verifier and without `reject_broken_elfs`, so a
program that runs in tests could still be refused by `solana program deploy`. `verify` repeats,
for SBPF v0, what anza-xyz/sbpf's `RequisiteVerifier` (src/verifier.rs) and the loader's
`Executable::validate`/`relocate` (src/elf.rs, with `reject_broken_elfs = true`, as agave's
`morph_into_deployment_environment_v1` sets it) would reject, plus the syscall registry of agave's
`create_program_runtime_environment_v1` (programs/bpf_loader/src/syscalls/mod.rs).
"""

from __future__ import annotations

import struct

from onchain.linker import (
    EM_BPF,
    ET_DYN,
    INSN_SIZE,
    OP_CALL,
    OP_CALLX,
    OP_LDDW,
    R_BPF_64_32,
    R_BPF_64_64,
    R_BPF_64_RELATIVE,
    SHF_ALLOC,
    SHF_WRITE,
    SHN_UNDEF,
    SHT_DYNAMIC,
    STT_FUNC,
    ElfFile,
    Section,
    Symbol,
)

# Registered unconditionally by agave, plus the feature-gated syscalls that are active on mainnet.
# `sol_alloc_free_` is left out: deployment of programs that use it is disabled.
SYSCALLS: frozenset[str] = frozenset(
    {
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_compute_units_",
        "sol_log_pubkey",
        "sol_log_data",
        "sol_create_program_address",
        "sol_try_find_program_address",
        "sol_sha256",
        "sol_keccak256",
        "sol_secp256k1_recover",
        "sol_blake3",
        "sol_curve_validate_point",
        "sol_curve_group_op",
        "sol_curve_multiscalar_mul",
        "sol_get_clock_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_last_restart_slot",
        "sol_get_epoch_rewards_sysvar",
        "sol_get_sysvar",
        "sol_get_epoch_stake",
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memcmp_",
        "sol_memset_",
        "sol_get_processed_sibling_instruction",
        "sol_get_stack_height",
        "sol_set_return_data",
        "sol_get_return_data",
        "sol_invoke_signed_c",
        "sol_invoke_signed_rust",
        "sol_alt_bn128_group_op",
        "sol_alt_bn128_compression",
        "sol_big_mod_exp",
        "sol_poseidon",
        "sol_remaining_compute_units",
    }
)

_DT_SYMTAB, _DT_REL, _DT_RELSZ, _DT_RELENT = 6, 17, 18, 19

# SBPF v0 opcodes by class. LD: only lddw; LDX/ST/STX: byte/half/word/dword.
_LDX = {0x71, 0x69, 0x61, 0x79}
_STORES = {0x72, 0x6A, 0x62, 0x7A, 0x73, 0x6B, 0x63, 0x7B}
_ALU_OPS = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0}  # add..arsh, no neg
_ALU32 = {0x04 | op | src for op in _ALU_OPS for src in (0x00, 0x08)} | {0x84, 0xD4, 0xDC}  # neg32, le, be
_ALU64 = {0x07 | op | src for op in _ALU_OPS for src in (0x00, 0x08)} | {0x87}  # neg64
_JUMPS = {0x05} | {op | src for op in (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70) for src in (0x05, 0x0D)}
_JUMPS |= {op | src for op in (0xA0, 0xB0, 0xC0, 0xD0) for src in (0x05, 0x0D)}  # jlt, jle, jslt, jsle
_DIV_MOD_IMM = {0x34, 0x94, 0x37, 0x97}
_SHIFT_IMM = {0x64: 32, 0x74: 32, 0xC4: 32, 0x67: 64, 0x77: 64, 0xC7: 64}
_EXIT = 0x95
_VALID = {OP_LDDW, OP_CALL, OP_CALLX, _EXIT} | _LDX | _STORES | _ALU32 | _ALU64 | _JUMPS


class VerifyError(Exception):
    """The program would be refused at deploy time; the message names the instruction or symbol."""


def verify(so: bytes, known_syscalls: frozenset[str] = SYSCALLS) -> None:
    """Raise VerifyError unless `so` passes the loader's strict deploy-time checks for SBPF v0."""
    try:
        elf = ElfFile.parse(so)
    except ValueError as exc:
        raise VerifyError(f"cannot parse the ELF file: {exc}") from exc
    if elf.e_type != ET_DYN or elf.e_machine != EM_BPF or elf.e_flags != 0:
        raise VerifyError(
            f"expected an SBPF v0 shared object (ET_DYN, EM_BPF, e_flags 0), "
            f"got type {elf.e_type}, machine {elf.e_machine}, flags {elf.e_flags}"
        )
    text = _text_section(elf)
    _check_sections(elf)
    dynsym, relocations = _dynamic_tables(elf)
    _check_entrypoint(elf, text, dynsym)
    relocated_calls = _check_relocations(text, dynsym, relocations, known_syscalls)
    _check_code(text.data, relocated_calls)


def _text_section(elf: ElfFile) -> Section:
    texts = [s for s in elf.sections if s.name == ".text"]
    if len(texts) != 1:
        raise VerifyError(f"expected exactly one .text section, found {len(texts)}")
    text = texts[0]
    if text.addr != text.offset:
        raise VerifyError(f".text vaddr {text.addr:#x} differs from its file offset {text.offset:#x}")
    if not text.data or len(text.data) % INSN_SIZE:
        raise VerifyError(f".text size {len(text.data)} is not a positive multiple of {INSN_SIZE}")
    return text


def _check_sections(elf: ElfFile) -> None:
    for section in elf.sections:
        writable = section.flags & (SHF_ALLOC | SHF_WRITE) == SHF_ALLOC | SHF_WRITE
        if section.name.startswith(".bss") or (
            writable and section.name.startswith(".data") and not section.name.startswith(".data.rel")
        ):
            raise VerifyError(f"writable section {section.name} is not supported by the loader")
        if section.flags & SHF_ALLOC and section.addr != section.offset:
            raise VerifyError(
                f"section {section.name}: vaddr {section.addr:#x} != offset {section.offset:#x}"
            )


def _dynamic_tables(elf: ElfFile) -> tuple[list[Symbol], list[tuple[int, int, int]]]:
    """`.dynsym` and the DT_REL table, found through `.dynamic` as the loader finds them."""
    dynamic = next((s for s in elf.sections if s.type == SHT_DYNAMIC), None)
    if dynamic is None:
        raise VerifyError("no .dynamic section: the entrypoint and syscalls cannot be exported")
    tags: dict[int, int] = {}
    for i in range(len(dynamic.data) // 16):
        tag, value = struct.unpack_from("<qQ", dynamic.data, i * 16)
        if tag == 0:
            break
        tags.setdefault(tag, value)
    symtab = next((s for s in elf.sections if tags.get(_DT_SYMTAB) and s.addr == tags[_DT_SYMTAB]), None)
    if symtab is None:
        raise VerifyError("DT_SYMTAB does not point at a section")
    dynsym = elf.symbols(symtab)
    relocations: list[tuple[int, int, int]] = []
    if tags.get(_DT_REL):
        size, entsize = tags.get(_DT_RELSZ, 0), tags.get(_DT_RELENT, 0)
        start = tags[_DT_REL]
        if entsize != 16 or size == 0 or size % 16 or start + size > len(elf.data):
            raise VerifyError(f"invalid DT_REL table (offset {start:#x}, size {size}, entry size {entsize})")
        for offset in range(start, start + size, 16):
            r_offset, info = struct.unpack_from("<QQ", elf.data, offset)
            relocations.append((r_offset, info & 0xFFFFFFFF, info >> 32))
    return dynsym, relocations


def _check_entrypoint(elf: ElfFile, text: Section, dynsym: list[Symbol]) -> None:
    entry = next((s for s in dynsym if s.name == "entrypoint"), None)
    if entry is None or entry.shndx == SHN_UNDEF:
        raise VerifyError("'entrypoint' is not exported in .dynsym")
    if not text.addr <= elf.e_entry < text.addr + text.size or (elf.e_entry - text.addr) % INSN_SIZE:
        raise VerifyError(f"e_entry {elf.e_entry:#x} is not an instruction of .text")
    if entry.value != elf.e_entry:
        raise VerifyError(f"'entrypoint' is at {entry.value:#x} but e_entry is {elf.e_entry:#x}")


def _check_relocations(
    text: Section, dynsym: list[Symbol], relocations: list[tuple[int, int, int]], known: frozenset[str]
) -> set[int]:
    """Validate `.rel.dyn`; return the indices of the calls it resolves (syscalls, exported functions)."""
    relocated_calls: set[int] = set()
    for r_offset, rtype, symidx in relocations:
        in_text = text.offset <= r_offset < text.offset + text.size
        pc = (r_offset - text.offset) // INSN_SIZE
        opcode = text.data[r_offset - text.offset] if in_text else None
        if rtype == R_BPF_64_RELATIVE:
            if in_text and opcode != OP_LDDW:
                raise VerifyError(f"R_BPF_64_RELATIVE at insn #{pc} is not on an lddw")
            continue
        if rtype not in (R_BPF_64_32, R_BPF_64_64):
            raise VerifyError(f"relocation type {rtype} at {r_offset:#x} is unknown to the loader")
        if symidx >= len(dynsym):
            raise VerifyError(
                f"relocation at {r_offset:#x} names .dynsym entry {symidx}, which does not exist"
            )
        symbol = dynsym[symidx]
        if rtype == R_BPF_64_64:
            if not in_text or opcode != OP_LDDW:
                raise VerifyError(f"R_BPF_64_64 against {symbol.name!r} at {r_offset:#x} is not on an lddw")
            continue
        if not in_text or opcode != OP_CALL:
            raise VerifyError(f"R_BPF_64_32 against {symbol.name!r} at {r_offset:#x} is not on a call")
        if symbol.kind == STT_FUNC and symbol.value:
            if not text.addr <= symbol.value < text.addr + text.size:
                raise VerifyError(f"call at insn #{pc} targets function {symbol.name!r} outside .text")
            relocated_calls.add(pc)
            continue
        if symbol.name not in known:
            raise VerifyError(f"call at insn #{pc} uses unknown syscall {symbol.name!r}")
        relocated_calls.add(pc)
    for symbol in dynsym[1:]:
        if symbol.shndx == SHN_UNDEF and symbol.name not in known:
            raise VerifyError(f".dynsym imports {symbol.name!r}, which is not a Solana syscall")
    return relocated_calls


def _check_code(code: bytes, relocated_calls: set[int]) -> None:
    """RequisiteVerifier for SBPF v0, plus: each call is relocated or lands on an instruction."""
    count = len(code) // INSN_SIZE
    lddw_tails = {pc + 1 for pc in range(count) if code[pc * INSN_SIZE] == OP_LDDW}
    pc = 0
    while pc < count:
        opcode, regs, off, imm = struct.unpack_from("<BBhi", code, pc * INSN_SIZE)
        dst, src = regs & 0x0F, regs >> 4
        where = f"insn #{pc} (opcode {opcode:#04x})"
        if opcode & 0x07 == 0x06:
            raise VerifyError(
                f"{where}: JMP32 class (0x06) is not supported by SBPF v0; compile with -mcpu=v2"
            )
        if opcode not in _VALID:
            raise VerifyError(f"{where}: unknown opcode for SBPF v0")
        if src > 10:
            raise VerifyError(f"{where}: invalid source register r{src}")
        if dst > 10 or (dst == 10 and opcode not in _STORES):
            raise VerifyError(f"{where}: cannot write register r{dst}")
        if opcode == OP_LDDW:
            if pc + 1 >= count or code[(pc + 1) * INSN_SIZE] != 0:
                raise VerifyError(f"{where}: lddw is not followed by its second slot")
            pc += 2
            continue
        if opcode in _DIV_MOD_IMM and imm == 0:
            raise VerifyError(f"{where}: division by an immediate zero")
        if opcode in _SHIFT_IMM and not 0 <= imm < _SHIFT_IMM[opcode]:
            raise VerifyError(f"{where}: shift by {imm} overflows a {_SHIFT_IMM[opcode]}-bit value")
        if opcode in (0xD4, 0xDC) and imm not in (16, 32, 64):
            raise VerifyError(f"{where}: byte swap width {imm}, expected 16, 32 or 64")
        if opcode == OP_CALLX and not 0 <= imm < 10:
            raise VerifyError(f"{where}: callx register r{imm}, expected r0..r9 in imm")
        if opcode in _JUMPS:
            _check_target(where, pc + 1 + off, count, lddw_tails, "jump")
        if opcode == OP_CALL and pc not in relocated_calls:
            if imm == -1:
                raise VerifyError(f"{where}: call -1 has no syscall relocation in .rel.dyn")
            _check_target(where, pc + 1 + imm, count, lddw_tails, "call")
        pc += 1


def _check_target(where: str, target: int, count: int, lddw_tails: set[int], kind: str) -> None:
    if not 0 <= target < count:
        raise VerifyError(f"{where}: {kind} to insn #{target}, outside .text (0..{count - 1})")
    if target in lddw_tails:
        raise VerifyError(f"{where}: {kind} to insn #{target}, the middle of an lddw")
