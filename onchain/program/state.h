/* The accounts and argument structs, laid out exactly as their Borsh encoding in the IDL. Field
 * order in the IDL keeps every field naturally aligned, so the program reads and writes accounts
 * in place; the static asserts pin each layout to the sizes generated from the IDL. */
#ifndef RISK_GUARD_STATE_H
#define RISK_GUARD_STATE_H

#include "idl.h"
#include "sbf.h"

#define MARKET_BYTES 16

typedef struct {
    u64 max_order;
    u64 max_position;
    u64 max_notional;
    u64 max_staleness_secs;
    u64 min_interval_secs;
    u64 oracle_max_age_secs;
    u32 max_leverage_bps;
    u32 daily_loss_bps;
    u32 max_drawdown_bps;
    u32 min_confidence_bps;
    u32 oracle_max_deviation_bps;
    u32 oracle_max_conf_bps;
    Pubkey oracle;
} Limits;

typedef struct {
    u64 discriminator;
    Pubkey authority;
    Pubkey keeper;
    Limits limits;
    bool paused;
    u8 bump;
} Config;

typedef struct {
    u64 discriminator;
    Pubkey config;
    Pubkey address;
    u8 market[MARKET_BYTES];
    i64 capital;
    i64 position;
    u64 avg_entry;
    i64 realized_pnl;
    i64 equity;
    i64 high_water_mark;
    i64 day_start_equity;
    i64 day;
    u64 last_sequence;
    i64 last_signal_ts;
    bool halted;
    u8 bump;
} Book;

typedef struct {
    u64 discriminator;
    u64 price;
    u64 conf;
    i64 publish_time;
} OracleQuote;

/* Instruction arguments, after the 8-byte discriminator. */
typedef struct {
    Pubkey keeper;
    Limits limits;
} InitializeArgs;

typedef struct {
    u8 market[MARKET_BYTES];
    u64 capital;
} OpenBookArgs;

typedef struct {
    u64 sequence;
    i64 target_position;
    u64 price;
    i64 signal_ts;
    u16 confidence_bps;
} PushSignalArgs;

#define BORSH_SIZE(type, last_field) (__builtin_offsetof(type, last_field) + sizeof(((type *)0)->last_field))

_Static_assert(sizeof(Limits) == LIMITS_SIZE, "Limits layout differs from the IDL");
_Static_assert(BORSH_SIZE(Config, bump) == CONFIG_SIZE, "Config layout differs from the IDL");
_Static_assert(BORSH_SIZE(Book, bump) == BOOK_SIZE, "Book layout differs from the IDL");
_Static_assert(sizeof(OracleQuote) == ORACLE_QUOTE_SIZE, "OracleQuote layout differs from the IDL");
_Static_assert(sizeof(InitializeArgs) + 8 == INITIALIZE_ARGS_SIZE, "initialize args differ from the IDL");
_Static_assert(sizeof(OpenBookArgs) + 8 == OPEN_BOOK_ARGS_SIZE, "open_book args differ from the IDL");
_Static_assert(BORSH_SIZE(PushSignalArgs, confidence_bps) + 8 == PUSH_SIGNAL_ARGS_SIZE,
               "push_signal args differ from the IDL");

#endif
