/* Account validation in Anchor's order and with Anchor's error codes (owner, discriminator, size,
 * mutability, signer, PDA), plus creating a PDA account through the system program. */
#ifndef RISK_GUARD_ACCOUNTS_H
#define RISK_GUARD_ACCOUNTS_H

#include "anchor_errors.h"
#include "checked_math.h"
#include "state.h"

#define TRY(expression)                                                                                \
    do {                                                                                               \
        u64 error_ = (expression);                                                                     \
        if (error_ != 0) {                                                                             \
            return error_;                                                                             \
        }                                                                                              \
    } while (0)

#define ACCOUNT_STORAGE_OVERHEAD 128ULL
#define RENT_EXEMPTION_YEARS 2ULL
#define SYSTEM_CREATE_ACCOUNT 0U

static const char CONFIG_SEED[] = "config";
static const char BOOK_SEED[] = "book";

static inline u64 require_signer(const Account *account) {
    return account->is_signer ? 0 : ANCHOR_ACCOUNT_NOT_SIGNER;
}

static inline u64 require_writable(const Account *account) {
    return account->is_writable ? 0 : ANCHOR_CONSTRAINT_MUT;
}

/* An account of this program holding a `discriminator` account of at least `size` bytes. */
static u64 require_program_account(const Input *in, const Account *account, u64 discriminator, u64 size) {
    if (!pubkey_eq(account->owner, in->program_id)) {
        return ANCHOR_ACCOUNT_OWNED_BY_WRONG_PROGRAM;
    }
    if (*account->data_len < sizeof(u64)) {
        return ANCHOR_ACCOUNT_DISCRIMINATOR_NOT_FOUND;
    }
    if (*(const u64 *)account->data != discriminator) {
        return ANCHOR_ACCOUNT_DISCRIMINATOR_MISMATCH;
    }
    if (*account->data_len < size) {
        return ANCHOR_ACCOUNT_DID_NOT_DESERIALIZE;
    }
    return 0;
}

static u64 load_config(const Input *in, const Account *account, Config **config) {
    TRY(require_program_account(in, account, ACCOUNT_CONFIG, CONFIG_SIZE));
    *config = (Config *)account->data;
    return 0;
}

/* The config re-derived from its stored bump: what admin instructions check (1,500 CU they can afford). */
static u64 require_config_pda(const Input *in, const Account *account, const Config *config) {
    SolSignerSeed seeds[2] = {{(const u8 *)CONFIG_SEED, sizeof(CONFIG_SEED) - 1}, {&config->bump, 1}};
    Pubkey expected;
    if (sol_create_program_address(seeds, 2, in->program_id, &expected) != 0 ||
        !pubkey_eq(&expected, account->key)) {
        return ANCHOR_CONSTRAINT_SEEDS;
    }
    return 0;
}

/* The config account, writable, at its PDA, and a signer that is its authority. */
static u64 load_config_as_authority(const Input *in, const Account *account, const Account *signer,
                                    Config **config) {
    TRY(load_config(in, account, config));
    TRY(require_writable(account));
    TRY(require_config_pda(in, account, *config));
    TRY(require_signer(signer));
    return pubkey_eq(signer->key, &(*config)->authority) ? 0 : ERROR_UNAUTHORIZED;
}

/* A writable book of this config. Its address was derived and checked when it was created and
 * stored in the account; comparing with it costs a few instructions where re-deriving costs 1,500 CU. */
static u64 load_book(const Input *in, const Account *account, const Account *config_account, Book **book) {
    TRY(require_program_account(in, account, ACCOUNT_BOOK, BOOK_SIZE));
    TRY(require_writable(account));
    *book = (Book *)account->data;
    if (!pubkey_eq(&(*book)->address, account->key)) {
        return ANCHOR_CONSTRAINT_SEEDS;
    }
    if (!pubkey_eq(&(*book)->config, config_account->key)) {
        return ANCHOR_CONSTRAINT_HAS_ONE;
    }
    return 0;
}

/* The upgradeable loader (BPFLoaderUpgradeab1e11111111111111111111111), which owns ProgramData. */
static const Pubkey LOADER_V3_ID = {{0x02, 0xa8, 0xf6, 0x91, 0x4e, 0x88, 0xa1, 0xb0, 0xe2, 0x10, 0x15,
                                     0x3e, 0xf7, 0x63, 0xae, 0x2b, 0x00, 0xc2, 0xb9, 0x3d, 0x16, 0xc1,
                                     0x24, 0xd2, 0xc0, 0x53, 0x7a, 0x10, 0x04, 0x80, 0x00, 0x00}};
#define PROGRAMDATA_TAG 3U
#define PROGRAMDATA_AUTHORITY_OFFSET 13 /* u32 tag, u64 slot, then Option<Pubkey>'s tag byte */
#define PROGRAMDATA_METADATA_SIZE 45

/* `program_data` is this program's ProgramData account and names `authority` as its upgrade
 * authority: only whoever deployed the program may create its config. */
static u64 require_upgrade_authority(const Input *in, const Account *program_data, const Account *authority) {
    if (!pubkey_eq(program_data->owner, &LOADER_V3_ID)) {
        return ANCHOR_ACCOUNT_OWNED_BY_WRONG_PROGRAM;
    }
    SolSignerSeed seeds[1] = {{in->program_id->bytes, PUBKEY_BYTES}};
    Pubkey expected;
    u8 bump;
    if (sol_try_find_program_address(seeds, 1, &LOADER_V3_ID, &expected, &bump) != 0 ||
        !pubkey_eq(&expected, program_data->key)) {
        return ANCHOR_CONSTRAINT_SEEDS;
    }
    const u8 *data = program_data->data;
    if (*program_data->data_len < PROGRAMDATA_METADATA_SIZE || *(const u32 *)data != PROGRAMDATA_TAG) {
        return ANCHOR_ACCOUNT_DID_NOT_DESERIALIZE;
    }
    int differs = 1;
    if (data[PROGRAMDATA_AUTHORITY_OFFSET - 1] != 1 ||
        sol_memcmp_(data + PROGRAMDATA_AUTHORITY_OFFSET, authority->key->bytes, PUBKEY_BYTES, &differs) != 0 ||
        differs != 0) {
        return ERROR_NOT_UPGRADE_AUTHORITY;
    }
    return 0;
}

static inline u64 require_system_program(const Account *account) {
    return pubkey_is_zero(account->key) ? 0 : ANCHOR_INVALID_PROGRAM_ID;
}

/* The canonical PDA of `seeds` must be `account`; its bump is returned for storing. */
static u64 require_canonical_pda(const Input *in, const SolSignerSeed *seeds, int seed_count,
                                 const Account *account, u8 *bump) {
    Pubkey expected;
    if (sol_try_find_program_address(seeds, seed_count, in->program_id, &expected, bump) != 0 ||
        !pubkey_eq(&expected, account->key)) {
        return ANCHOR_CONSTRAINT_SEEDS;
    }
    return 0;
}

/* A PDA to create: its account and the seeds (bump included) the program signs for it with. */
typedef struct {
    const Account *account;
    const SolSignerSeed *seeds;
    u64 seed_count;
} NewPda;

/* Creates `target` with `space` bytes, rent-exempt, paid by `payer`, through the system program's
 * CreateAccount (BPF calls take at most five arguments, hence the NewPda struct). */
static u64 create_pda_account(const Input *in, const Account *payer, const NewPda *target,
                              const Account *system_program, u64 space) {
    Rent rent;
    sol_get_rent_sysvar(&rent);
    u64 lamports;
    if (!mul_u64(ACCOUNT_STORAGE_OVERHEAD + space, rent.lamports_per_byte_year * RENT_EXEMPTION_YEARS,
                 &lamports)) {
        return ERROR_MATH_OVERFLOW;
    }
    struct __attribute__((packed)) {
        u32 tag;
        u64 lamports;
        u64 space;
        Pubkey owner;
    } data = {SYSTEM_CREATE_ACCOUNT, lamports, space, *in->program_id};
    SolAccountMeta metas[2] = {{payer->key, true, true}, {target->account->key, true, true}};
    SolInstruction instruction = {system_program->key, metas, 2, (const u8 *)&data, sizeof(data)};
    SolAccountInfo infos[3] = {account_info(payer), account_info(target->account), account_info(system_program)};
    SolSignerSeeds signer = {target->seeds, target->seed_count};
    return sol_invoke_signed_c(&instruction, infos, 3, &signer, 1);
}

#endif
