/*
 * Test program for the C -> SBPF v0 toolchain (onchain/toolchain.py, linker.py, verifier.py).
 *
 * Instruction data, first byte selects:
 *   0 [i]      log "hello from C", greeting i % 3 (a table of string pointers in .rodata),
 *              then sol_log_64_(accounts, data length, i, checksum(data), 0)
 *   1 [code]   fail with the custom program error `code`
 *   2 [op] [x] log sol_log_64_(op & 1, x, OPS[op & 1](x), 0, 0): a table of function pointers
 *   other      fail with the builtin error InvalidInstructionData
 */
typedef unsigned char u8;
typedef unsigned long long u64;

extern void sol_log_(const char *message, u64 length);
extern void sol_log_64_(u64 a, u64 b, u64 c, u64 d, u64 e);

#define LOG(literal) sol_log_((literal), sizeof(literal) - 1)
#define MAX_PERMITTED_DATA_INCREASE 10240
#define NON_DUP_MARKER 0xFF
/* Builtin program errors live in the upper 32 bits; a custom error n is returned as n itself. */
#define ERROR_INVALID_INSTRUCTION_DATA (3ULL << 32)

static const char *const GREETINGS[] = {"gm from C", "gn from C", "wagmi from C"};

typedef u64 (*op_fn)(u64);
__attribute__((noinline)) static u64 twice(u64 x) { return 2 * x; }
__attribute__((noinline)) static u64 square(u64 x) { return x * x; }
static op_fn const OPS[] = {twice, square};

__attribute__((noinline)) static u64 cstr_len(const char *s) {
  u64 n = 0;
  while (s[n]) n++;
  return n;
}

__attribute__((noinline)) static void log_cstr(const char *s) { sol_log_(s, cstr_len(s)); }

/* Not static: the call goes through a relocation against a defined global symbol. */
__attribute__((noinline)) u64 checksum(const u8 *data, u64 len) {
  u64 sum = 7;
  for (u64 i = 0; i < len; i++) sum = sum * 31 + data[i];
  return sum;
}

/* Skip the serialized accounts (aligned input format of the BPF loaders). */
static const u8 *skip_accounts(const u8 *cursor, u64 count) {
  for (u64 i = 0; i < count; i++) {
    if (cursor[0] != NON_DUP_MARKER) {
      cursor += 8;
      continue;
    }
    u64 data_len = *(const u64 *)(cursor + 8 + 32 + 32 + 8);
    cursor += 8 + 32 + 32 + 8 + 8 + data_len + MAX_PERMITTED_DATA_INCREASE;
    cursor = (const u8 *)(((u64)cursor + 7) & ~7ULL);
    cursor += 8; /* rent_epoch */
  }
  return cursor;
}

u64 entrypoint(const u8 *input) {
  u64 accounts = *(const u64 *)input;
  const u8 *cursor = skip_accounts(input + 8, accounts);
  u64 len = *(const u64 *)cursor;
  const u8 *data = cursor + 8;
  if (len == 0) return ERROR_INVALID_INSTRUCTION_DATA;
  switch (data[0]) {
    case 0: {
      u64 index = len > 1 ? data[1] : 0;
      LOG("hello from C");
      log_cstr(GREETINGS[index % 3]);
      sol_log_64_(accounts, len, index, checksum(data, len), 0);
      return 0;
    }
    case 1:
      return len > 1 ? data[1] : 1;
    case 2: {
      if (len < 3) return ERROR_INVALID_INSTRUCTION_DATA;
      u64 op = data[1] & 1;
      u64 x = data[2];
      sol_log_64_(op, x, OPS[op](x), 0, 0);
      return 0;
    }
    default:
      LOG("unknown instruction");
      return ERROR_INVALID_INSTRUCTION_DATA;
  }
}
