"""A minimal linker from a clang eBPF relocatable object to a Solana SBPF v0 shared object.

ld.lld cannot produce what the Solana loader wants from upstream clang output, so this module does
the handful of things cargo-build-sbf's linker step does, for one object file:

* lay out `.text` then `.rodata` with every section's file offset equal to its virtual address,
  because the v0 loader reads the image by section headers and maps it at `MM_REGION_SIZE + vaddr`;
* resolve `.rel.text` / `.rel.rodata` relocations, turning absolute addresses into
  `R_BPF_64_RELATIVE` dynamic relocations and calls to undefined symbols into `R_BPF_64_32`
  syscall relocations against `.dynsym`;
* emit `.dynamic`, `.dynsym`, `.dynstr`, `.rel.dyn`, `.shstrtab` and PT_LOAD/PT_DYNAMIC headers.

What the loader does with the result (anza-xyz/sbpf `src/elf.rs`, `Executable::relocate`, the
lenient parser used for SBPF v0):

* `R_BPF_64_RELATIVE` inside `.text` reads the 64-bit address split over an `lddw`'s two imm
  fields, adds `MM_REGION_SIZE` (1 << 32) when it is below it, and writes it back; a zero
  address is rejected.
* `R_BPF_64_RELATIVE` anywhere else reads only a *u32 at r_offset + 4*, adds `MM_REGION_SIZE`
  and writes the u64 result at r_offset (compatibility with an old toolchain that stored the
  address shifted left by 32). So a pointer stored in `.rodata` must be written as `vaddr << 32`.
* `R_BPF_64_32` hashes the `.dynsym` name (murmur3) into the call's imm unless the symbol is a
  defined function; a call whose imm is not -1 is taken as PC-relative (target = pc + 1 + imm).
* `.bss*` and writable `.data*` (except `.data.rel*`) sections are refused, so they are refused
  here first, by name and symbol.

Upstream LLVM encodes `callx` with the target register in the dst field; SBPF v0 reads it from
imm, so `link` moves it there.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

EM_BPF = 247
ET_REL, ET_DYN = 1, 3
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_DYNAMIC, SHT_NOBITS, SHT_REL, SHT_DYNSYM = 6, 8, 9, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
STB_LOCAL, STB_GLOBAL = 0, 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
PT_LOAD, PT_DYNAMIC = 1, 2
PF_X, PF_R = 0x1, 0x4
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 5, 6, 10, 11
DT_REL, DT_RELSZ, DT_RELENT, DT_TEXTREL, DT_FLAGS, DT_RELCOUNT = 17, 18, 19, 22, 30, 0x6FFFFFFA
DF_TEXTREL = 0x4

R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_RELATIVE, R_BPF_64_32 = 0, 1, 2, 8, 10

INSN_SIZE = 8
OP_LDDW, OP_CALL, OP_CALLX = 0x18, 0x85, 0x8D
MAX_SYMBOL_NAME = 63  # the loader reads at most 64 bytes, NUL included

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_PHDR = struct.Struct("<IIQQQQQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")
_DYN = struct.Struct("<qQ")


class LinkError(Exception):
    """The object cannot become a valid SBPF v0 program; the message names the section or symbol."""


@dataclass(frozen=True)
class Section:
    """One section header plus its bytes (empty for SHT_NOBITS)."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    data: bytes


@dataclass(frozen=True)
class Symbol:
    """One ELF64 symbol table entry with its resolved name."""

    name: str
    value: int
    size: int
    info: int
    shndx: int

    @property
    def bind(self) -> int:
        return self.info >> 4

    @property
    def kind(self) -> int:
        return self.info & 0xF


@dataclass(frozen=True)
class ElfFile:
    """Just enough ELF64 little-endian parsing for eBPF objects and SBPF shared objects."""

    data: bytes
    e_type: int
    e_machine: int
    e_entry: int
    e_flags: int
    sections: tuple[Section, ...]

    @classmethod
    def parse(cls, data: bytes) -> ElfFile:
        if len(data) < _EHDR.size or data[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        if data[4] != 2 or data[5] != 1:
            raise ValueError("not a 64-bit little-endian ELF file")
        (_, e_type, e_machine, _, e_entry, _, e_shoff, e_flags, _, _, _, e_shentsize, e_shnum, shstrndx) = (
            _EHDR.unpack_from(data)
        )
        if e_shnum and e_shentsize != _SHDR.size:
            raise ValueError(f"unexpected section header size {e_shentsize}")
        if e_shoff + e_shnum * _SHDR.size > len(data):
            raise ValueError("section header table lies outside the file")
        headers = [_SHDR.unpack_from(data, e_shoff + i * _SHDR.size) for i in range(e_shnum)]
        names = b""
        if 0 < shstrndx < e_shnum:
            _, _, _, _, off, size, *_ = headers[shstrndx]
            names = data[off : off + size]
        sections = []
        for index, (name, typ, flags, addr, off, size, link, info, align, entsize) in enumerate(headers):
            body = b"" if typ in (SHT_NOBITS, SHT_NULL) else data[off : off + size]
            if len(body) != (0 if typ in (SHT_NOBITS, SHT_NULL) else size):
                raise ValueError(f"section #{index} lies outside the file")
            sections.append(
                Section(
                    index, _cstr(names, name), typ, flags, addr, off, size, link, info, align, entsize, body
                )
            )
        return cls(bytes(data), e_type, e_machine, e_entry, e_flags, tuple(sections))

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def symbols(self, table: Section) -> list[Symbol]:
        """Entries of a SHT_SYMTAB/SHT_DYNSYM section, names read from its linked string table."""
        strings = self.sections[table.link].data if table.link < len(self.sections) else b""
        count = len(table.data) // _SYM.size
        return [
            Symbol(_cstr(strings, name), value, size, info, shndx)
            for name, info, _, shndx, value, size in (
                _SYM.unpack_from(table.data, i * _SYM.size) for i in range(count)
            )
        ]

    def relocations(self, table: Section) -> Iterator[tuple[int, int, int]]:
        """(r_offset, type, symbol index) for each entry of a SHT_REL section."""
        for i in range(len(table.data) // _REL.size):
            offset, info = _REL.unpack_from(table.data, i * _REL.size)
            yield offset, info & 0xFFFFFFFF, info >> 32


def _cstr(blob: bytes, offset: int) -> str:
    end = blob.find(b"\0", offset)
    return blob[offset : end if end >= 0 else len(blob)].decode("utf-8", "replace")


def _align(value: int, alignment: int) -> int:
    alignment = max(alignment, 1)
    return (value + alignment - 1) // alignment * alignment


def _is_dropped(section: Section) -> bool:
    """Sections the program never reads at run time: unwind tables, BTF, debug info, notes."""
    name = section.name
    return (
        not section.flags & SHF_ALLOC
        or name.startswith((".eh_frame", ".BTF", ".debug", ".note", ".comment"))
        or name == ".llvm_addrsig"
    )


def _is_readonly_data(section: Section) -> bool:
    if section.name.startswith(".data.rel.ro"):
        return True  # read-only after relocation; the loader maps it read-only too
    return section.type == SHT_PROGBITS and not section.flags & (SHF_WRITE | SHF_EXECINSTR)


class _Image:
    """The output being built: placed sections, patched bytes and dynamic relocations."""

    def __init__(self, elf: ElfFile, symbols: list[Symbol]) -> None:
        self.elf = elf
        self.symbols = symbols
        self.place: dict[int, int] = {}
        self.text = bytearray()
        self.rodata = bytearray()
        self.text_start = self.rodata_start = 0
        self.dynrels: list[tuple[int, int, str | None]] = []  # (vaddr, type, syscall name)
        self.syscalls: list[str] = []

    def address(self, symbol: Symbol, where: str) -> int:
        if symbol.shndx == SHN_UNDEF:
            raise LinkError(f"undefined symbol {symbol.name!r} referenced by {where}")
        if symbol.shndx == SHN_ABS:
            return symbol.value
        if symbol.shndx not in self.place:
            section = self.elf.sections[symbol.shndx] if symbol.shndx < len(self.elf.sections) else None
            name = section.name if section else f"#{symbol.shndx}"
            raise LinkError(f"symbol {symbol.name or name!r} lies in section {name}, which is not linked")
        return self.place[symbol.shndx] + symbol.value

    def buffer(self, vaddr: int) -> tuple[bytearray, int]:
        if self.text_start <= vaddr < self.text_start + len(self.text):
            return self.text, vaddr - self.text_start
        return self.rodata, vaddr - self.rodata_start

    def in_text(self, vaddr: int) -> bool:
        return self.text_start <= vaddr < self.text_start + len(self.text)


def link(obj: bytes) -> bytes:
    """Link one eBPF relocatable object into an SBPF v0 shared object for the Solana loader.

    Raises LinkError for anything the loader would refuse or this linker cannot express:
    writable globals, undefined data symbols, unsupported relocations, a missing `entrypoint`.
    """
    try:
        elf = ElfFile.parse(obj)
    except ValueError as exc:
        raise LinkError(f"cannot parse the object: {exc}") from exc
    if elf.e_type != ET_REL or elf.e_machine != EM_BPF:
        raise LinkError(
            f"expected an eBPF relocatable object (ET_REL, EM_BPF), got {elf.e_type}/{elf.e_machine}"
        )
    symtab = next((s for s in elf.sections if s.type == SHT_SYMTAB), None)
    symbols = elf.symbols(symtab) if symtab else []
    _reject_writable_data(elf, symbols)

    image = _Image(elf, symbols)
    texts = [s for s in elf.sections if not _is_dropped(s) and s.flags & SHF_EXECINSTR]
    rodatas = [s for s in elf.sections if not _is_dropped(s) and not s.flags & SHF_EXECINSTR]
    for section in rodatas:
        if not _is_readonly_data(section):
            raise LinkError(f"section {section.name} (type {section.type}) is not supported")
    if not texts:
        raise LinkError("the object has no executable section")

    phnum = 3 + any(s.size for s in rodatas)  # text, [rodata], dynamic tables, PT_DYNAMIC
    cursor = _align(_EHDR.size + phnum * _PHDR.size, INSN_SIZE)
    image.text_start = cursor
    for section in texts:
        start = _align(image.text_start + len(image.text), max(section.addralign, INSN_SIZE))
        image.text += bytes(start - image.text_start - len(image.text)) + section.data
        image.place[section.index] = start
    image.rodata_start = _align(image.text_start + len(image.text), INSN_SIZE)
    for section in rodatas:
        start = _align(image.rodata_start + len(image.rodata), section.addralign)
        image.rodata += bytes(start - image.rodata_start - len(image.rodata)) + section.data
        image.place[section.index] = start

    for table in elf.sections:
        if table.type in (SHT_REL, SHT_RELA) and table.info in image.place:
            target = elf.sections[table.info]
            if table.type == SHT_RELA:
                raise LinkError(f"{table.name}: RELA relocations are not produced by the BPF backend")
            for offset, rtype, symidx in elf.relocations(table):
                if symidx >= len(symbols):
                    raise LinkError(f"{table.name}: relocation at {offset:#x} names a missing symbol")
                _relocate(image, target, offset, rtype, symbols[symidx])
    _fix_callx(image.text)

    entry = next((s for s in symbols if s.name == "entrypoint" and s.bind != STB_LOCAL), None)
    if entry is None or entry.shndx == SHN_UNDEF:
        raise LinkError("the program must define a global function named 'entrypoint'")
    entry_addr = image.address(entry, "the ELF header")
    if not image.in_text(entry_addr):
        raise LinkError("'entrypoint' is not in an executable section")
    return _emit(image, entry_addr, phnum)


def _reject_writable_data(elf: ElfFile, symbols: list[Symbol]) -> None:
    """Solana programs cannot have mutable globals: name every symbol that would need one."""
    common = [s.name for s in symbols if s.shndx == SHN_COMMON]
    if common:
        raise LinkError(f"writable global data is not allowed on Solana: common symbols {', '.join(common)}")
    for section in elf.sections:
        if _is_dropped(section) or section.flags & SHF_EXECINSTR or _is_readonly_data(section):
            continue
        if section.type == SHT_NOBITS or section.flags & SHF_WRITE:
            names = [
                s.name for s in symbols if s.shndx == section.index and s.kind not in (STT_SECTION, STT_FILE)
            ]
            if section.size == 0 and not names:
                continue
            defined = f" (defines {', '.join(names)})" if names else ""
            raise LinkError(
                f"writable global data is not allowed on Solana: section {section.name}{defined}; "
                "make it const or keep it on the stack"
            )


def _relocate(image: _Image, target: Section, offset: int, rtype: int, symbol: Symbol) -> None:
    vaddr = image.place[target.index] + offset
    buf, at = image.buffer(vaddr)
    where = f"{target.name}+{offset:#x}"
    if offset + INSN_SIZE > target.size:
        raise LinkError(f"relocation at {where} lies outside its section")
    if rtype == R_BPF_NONE:
        return
    if rtype == R_BPF_64_64:
        if not image.in_text(vaddr) or buf[at] != OP_LDDW or offset + 2 * INSN_SIZE > target.size:
            raise LinkError(f"R_BPF_64_64 at {where} is not on an lddw instruction")
        low, high = struct.unpack_from("<I", buf, at + 4)[0], struct.unpack_from("<I", buf, at + 12)[0]
        value = image.address(symbol, f"lddw at {where}") + (low | high << 32)
        struct.pack_into("<I", buf, at + 4, value & 0xFFFFFFFF)
        struct.pack_into("<I", buf, at + 12, value >> 32)
        image.dynrels.append((vaddr, R_BPF_64_RELATIVE, None))
    elif rtype == R_BPF_64_32:
        if not image.in_text(vaddr) or buf[at] != OP_CALL:
            raise LinkError(f"R_BPF_64_32 at {where} is not on a call instruction")
        if symbol.shndx == SHN_UNDEF:
            _add_syscall(image, vaddr, buf, at, symbol.name)
            return
        imm = struct.unpack_from("<i", buf, at + 4)[0]
        callee = image.address(symbol, f"call at {where}") + (imm + 1) * INSN_SIZE
        if not image.in_text(callee) or (callee - image.text_start) % INSN_SIZE:
            raise LinkError(f"call at {where} targets {symbol.name!r} outside the executable code")
        relative = (callee - vaddr) // INSN_SIZE - 1
        if relative == -1:
            raise LinkError(f"call at {where} would call itself; imm -1 means 'syscall' to the loader")
        struct.pack_into("<i", buf, at + 4, relative)
    elif rtype == R_BPF_64_ABS64:
        if image.in_text(vaddr):
            raise LinkError(f"R_BPF_64_ABS64 at {where}: 64-bit data inside code")
        value = image.address(symbol, f"pointer at {where}") + struct.unpack_from("<Q", buf, at)[0]
        if value >> 32:
            raise LinkError(f"pointer at {where} does not fit the loader's 32-bit relocation field")
        # SBPF v0 reads a u32 at r_offset + 4 for relocations outside .text (see module docstring).
        struct.pack_into("<Q", buf, at, value << 32)
        image.dynrels.append((vaddr, R_BPF_64_RELATIVE, None))
    else:
        raise LinkError(f"relocation type {rtype} at {where} (symbol {symbol.name!r}) is not supported")


def _add_syscall(image: _Image, vaddr: int, buf: bytearray, at: int, name: str) -> None:
    """Mark a call to an undefined symbol as a syscall: imm -1 plus R_BPF_64_32 against .dynsym."""
    if len(name.encode()) > MAX_SYMBOL_NAME:
        raise LinkError(f"syscall name {name!r} is longer than {MAX_SYMBOL_NAME} bytes")
    struct.pack_into("<I", buf, at + 4, 0xFFFFFFFF)
    if name not in image.syscalls:
        image.syscalls.append(name)
    image.dynrels.append((vaddr, R_BPF_64_32, name))


def _fix_callx(text: bytearray) -> None:
    """Move callx's register from dst (upstream LLVM) to imm (what SBPF v0 reads)."""
    pc = 0
    while pc * INSN_SIZE < len(text):
        at = pc * INSN_SIZE
        if text[at] == OP_CALLX and struct.unpack_from("<i", text, at + 4)[0] == 0:
            struct.pack_into("<i", text, at + 4, text[at + 1] & 0x0F)
            text[at + 1] &= 0xF0
        pc += 2 if text[at] == OP_LDDW else 1


def _emit(image: _Image, entry_addr: int, phnum: int) -> bytes:
    """Serialise headers, code, data and the dynamic tables with file offset == vaddr."""
    dynstr = bytearray(b"\0")

    def intern(name: str) -> int:
        dynstr.extend(name.encode() + b"\0")
        return len(dynstr) - len(name.encode()) - 1

    text_index = 1
    dynsym = bytearray(_SYM.size)
    dynsym += _SYM.pack(intern("entrypoint"), STB_GLOBAL << 4 | STT_FUNC, 0, text_index, entry_addr, 0)
    sym_index = {}
    for name in image.syscalls:
        sym_index[name] = len(dynsym) // _SYM.size
        dynsym += _SYM.pack(intern(name), STB_GLOBAL << 4 | STT_NOTYPE, 0, SHN_UNDEF, 0, 0)
    relatives = sorted(r for r in image.dynrels if r[1] == R_BPF_64_RELATIVE)
    calls = sorted((r for r in image.dynrels if r[1] != R_BPF_64_RELATIVE), key=lambda r: r[0])
    reldyn = b"".join(
        _REL.pack(vaddr, (sym_index[name] if name else 0) << 32 | rtype)
        for vaddr, rtype, name in relatives + calls
    )

    rodata_end = image.rodata_start + len(image.rodata)
    dynamic_start = _align(rodata_end if image.rodata else image.text_start + len(image.text), 8)
    ndyn = 4 + (6 if reldyn else 0) + 1  # the entries below, DT_NULL included
    dynsym_start = dynamic_start + ndyn * _DYN.size
    dynstr_start = dynsym_start + len(dynsym)
    reldyn_start = _align(dynstr_start + len(dynstr), 8)
    dyn_entries = [(DT_SYMTAB, dynsym_start), (DT_SYMENT, _SYM.size), (DT_STRTAB, dynstr_start)]
    dyn_entries += [(DT_STRSZ, len(dynstr))]
    if reldyn:  # the loader rejects DT_REL with DT_RELSZ 0, so both go when there is nothing to relocate
        dyn_entries += [(DT_REL, reldyn_start), (DT_RELSZ, len(reldyn)), (DT_RELENT, _REL.size)]
        dyn_entries += [(DT_RELCOUNT, len(relatives)), (DT_FLAGS, DF_TEXTREL), (DT_TEXTREL, 0)]
    dyn_entries += [(DT_NULL, 0)]
    dynamic = b"".join(_DYN.pack(tag, value) for tag, value in dyn_entries)
    assert len(dynamic) == ndyn * _DYN.size

    # (name, type, flags, vaddr, body, link, info, align, entsize); indices are fixed below.
    shstrtab = bytearray(b"\0")
    layout: list[tuple[str, int, int, int, bytes, int, int, int, int]] = [
        (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, image.text_start, bytes(image.text), 0, 0, 8, 0)
    ]
    if image.rodata:
        layout.append(
            (".rodata", SHT_PROGBITS, SHF_ALLOC, image.rodata_start, bytes(image.rodata), 0, 0, 8, 0)
        )
    dynstr_index = len(layout) + 3
    dynsym_index = len(layout) + 2
    layout.append((".dynamic", SHT_DYNAMIC, SHF_ALLOC, dynamic_start, dynamic, dynstr_index, 0, 8, _DYN.size))
    layout.append(
        (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_start, bytes(dynsym), dynstr_index, 1, 8, _SYM.size)
    )
    layout.append((".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_start, bytes(dynstr), 0, 0, 1, 0))
    if reldyn:
        layout.append((".rel.dyn", SHT_REL, SHF_ALLOC, reldyn_start, reldyn, dynsym_index, 0, 8, _REL.size))
    loaded_end = layout[-1][3] + len(layout[-1][4])
    shstrtab_start = loaded_end
    names = [entry[0] for entry in layout] + [".shstrtab"]
    name_offsets = []
    for name in names:
        name_offsets.append(len(shstrtab))
        shstrtab += name.encode() + b"\0"
    shoff = _align(shstrtab_start + len(shstrtab), 8)

    out = bytearray(shoff + (len(layout) + 2) * _SHDR.size)
    for _, _, _, vaddr, body, *_ in layout:
        out[vaddr : vaddr + len(body)] = body
    out[shstrtab_start : shstrtab_start + len(shstrtab)] = shstrtab

    phdrs = [(PT_LOAD, PF_R | PF_X, image.text_start, len(image.text))]
    if image.rodata:
        phdrs.append((PT_LOAD, PF_R, image.rodata_start, len(image.rodata)))
    phdrs.append((PT_LOAD, PF_R, dynamic_start, loaded_end - dynamic_start))
    phdrs.append((PT_DYNAMIC, PF_R, dynamic_start, len(dynamic)))
    assert len(phdrs) == phnum
    for i, (ptype, pflags, vaddr, size) in enumerate(phdrs):
        align = 8 if ptype == PT_DYNAMIC else 0x1000
        _PHDR.pack_into(
            out, _EHDR.size + i * _PHDR.size, ptype, pflags, vaddr, vaddr, vaddr, size, size, align
        )

    headers = [(0, SHT_NULL, 0, 0, 0, 0, 0, 0, 0, 0)]
    for offset, (_, stype, flags, vaddr, body, link, info, align, entsize) in zip(
        name_offsets[:-1], layout, strict=True
    ):
        headers.append((offset, stype, flags, vaddr, vaddr, len(body), link, info, align, entsize))
    headers.append((name_offsets[-1], SHT_STRTAB, 0, 0, shstrtab_start, len(shstrtab), 0, 0, 1, 0))
    for i, header in enumerate(headers):
        _SHDR.pack_into(out, shoff + i * _SHDR.size, *header)

    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    _EHDR.pack_into(
        out, 0, ident, ET_DYN, EM_BPF, 1, entry_addr, _EHDR.size, shoff, 0,
        _EHDR.size, _PHDR.size, len(phdrs), _SHDR.size, len(headers), len(headers) - 1,
    )  # fmt: skip
    return bytes(out)
