/* The Solana runtime ABI this program needs, written out instead of taken from an SDK header:
 * fixed-width types, the syscalls it calls, the serialized input of loader v2/v3 (SBPF v0, aligned)
 * and the structs the C syscalls for cross-program invocation and PDAs expect. */
#ifndef RISK_GUARD_SBF_H
#define RISK_GUARD_SBF_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define I64_MAX 0x7fffffffffffffffLL
#define U64_MAX 0xffffffffffffffffULL
#define PUBKEY_BYTES 32
#define MAX_PERMITTED_DATA_INCREASE 10240
#define NON_DUP_MARKER 0xff
#define MAX_ACCOUNTS 16

typedef struct {
    u8 bytes[PUBKEY_BYTES];
} Pubkey;

/* Syscalls: the linker turns each call into a relocation the loader resolves by name. */
extern void sol_log_(const char *message, u64 length);
extern void sol_log_64_(u64 a, u64 b, u64 c, u64 d, u64 e);
extern void sol_memcpy_(void *dst, const void *src, u64 length);
extern int sol_memcmp_(const void *a, const void *b, u64 length, int *result);
extern u64 sol_get_clock_sysvar(void *clock);
extern u64 sol_get_rent_sysvar(void *rent);

typedef struct {
    u64 slot;
    i64 epoch_start_timestamp;
    u64 epoch;
    u64 leader_schedule_epoch;
    i64 unix_timestamp;
} Clock;

typedef struct {
    u64 lamports_per_byte_year;
    u64 exemption_threshold_f64_bits;
    u8 burn_percent;
} Rent;

/* One account of the serialized input; pointers point into the input buffer, which the runtime
 * copies back after the instruction (and updates after a CPI, hence `data_len` is a pointer). */
typedef struct {
    Pubkey *key;
    Pubkey *owner;
    u64 *lamports;
    u64 *data_len;
    u8 *data;
    u64 rent_epoch;
    bool is_signer;
    bool is_writable;
    bool executable;
} Account;

typedef struct {
    Account accounts[MAX_ACCOUNTS];
    u64 account_count;
    const u8 *data;
    u64 data_len;
    const Pubkey *program_id;
} Input;

/* The C-ABI structs of sol_invoke_signed_c and the PDA syscalls. */
typedef struct {
    Pubkey *key;
    u64 *lamports;
    u64 data_len;
    u8 *data;
    Pubkey *owner;
    u64 rent_epoch;
    bool is_signer;
    bool is_writable;
    bool executable;
} SolAccountInfo;

typedef struct {
    const Pubkey *pubkey;
    bool is_writable;
    bool is_signer;
} SolAccountMeta;

typedef struct {
    const Pubkey *program_id;
    const SolAccountMeta *accounts;
    u64 account_len;
    const u8 *data;
    u64 data_len;
} SolInstruction;

typedef struct {
    const u8 *addr;
    u64 len;
} SolSignerSeed;

typedef struct {
    const SolSignerSeed *addr;
    u64 len;
} SolSignerSeeds;

extern u64 sol_invoke_signed_c(const SolInstruction *instruction, const SolAccountInfo *account_infos,
                               int account_infos_len, const SolSignerSeeds *signers_seeds,
                               int signers_seeds_len);
extern u64 sol_create_program_address(const SolSignerSeed *seeds, int seeds_len, const Pubkey *program_id,
                                      Pubkey *address);
extern u64 sol_try_find_program_address(const SolSignerSeed *seeds, int seeds_len, const Pubkey *program_id,
                                        Pubkey *address, u8 *bump_seed);

static inline u64 align8(u64 value) { return (value + 7) & ~(u64)7; }

/* Parses the loader's serialized input in place. Returns false when there are more accounts than
 * MAX_ACCOUNTS (the caller answers with Anchor's AccountNotEnoughKeys-style error). */
static bool parse_input(u8 *input, Input *out) {
    u64 offset = 0;
    u64 count = *(u64 *)input;
    offset += sizeof(u64);
    if (count > MAX_ACCOUNTS) {
        return false;
    }
    for (u64 i = 0; i < count; i++) {
        u8 duplicate_of = input[offset];
        offset += 1;
        if (duplicate_of != NON_DUP_MARKER) {
            offset += 7;
            out->accounts[i] = out->accounts[duplicate_of];
            continue;
        }
        Account *account = &out->accounts[i];
        account->is_signer = input[offset];
        account->is_writable = input[offset + 1];
        account->executable = input[offset + 2];
        offset += 7;
        account->key = (Pubkey *)(input + offset);
        offset += PUBKEY_BYTES;
        account->owner = (Pubkey *)(input + offset);
        offset += PUBKEY_BYTES;
        account->lamports = (u64 *)(input + offset);
        offset += sizeof(u64);
        account->data_len = (u64 *)(input + offset);
        offset += sizeof(u64);
        account->data = input + offset;
        offset += align8(*account->data_len + MAX_PERMITTED_DATA_INCREASE);
        account->rent_epoch = *(u64 *)(input + offset);
        offset += sizeof(u64);
    }
    out->account_count = count;
    out->data_len = *(u64 *)(input + offset);
    offset += sizeof(u64);
    out->data = input + offset;
    offset += out->data_len;
    out->program_id = (const Pubkey *)(input + offset);
    return true;
}

static inline bool pubkey_eq(const Pubkey *a, const Pubkey *b) {
    const u64 *x = (const u64 *)a->bytes;
    const u64 *y = (const u64 *)b->bytes;
    return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

static inline bool pubkey_is_zero(const Pubkey *a) {
    const u64 *x = (const u64 *)a->bytes;
    return (x[0] | x[1] | x[2] | x[3]) == 0;
}

static inline SolAccountInfo account_info(const Account *account) {
    SolAccountInfo info = {account->key,   account->lamports,    *account->data_len,
                           account->data,  account->owner,       account->rent_epoch,
                           account->is_signer, account->is_writable, account->executable};
    return info;
}

#endif
