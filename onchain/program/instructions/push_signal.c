/* push_signal(sequence, target_position, price, signal_ts, confidence_bps): the keeper's signal is
 * checked against every rule (onchain/spec.py's order) and, if it passes, the book moves to the
 * target at the signal's price. Accounts: config, book (writable), keeper (signer), then the
 * oracle quote when the config names one. */

/* The configured oracle's quote, or NULL when it is missing or another account stands in for it. */
static const OracleQuote *oracle_quote(const Input *in, const Config *config) {
    if (in->account_count < 4) {
        return NULL;
    }
    const Account *oracle = &in->accounts[3];
    if (!pubkey_eq(oracle->key, &config->limits.oracle) || *oracle->data_len < ORACLE_QUOTE_SIZE ||
        *(const u64 *)oracle->data != ACCOUNT_ORACLE_QUOTE) {
        return NULL;
    }
    return (const OracleQuote *)oracle->data;
}

static u64 handle_push_signal(const Input *in) {
    if (in->data_len < PUSH_SIGNAL_ARGS_SIZE) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    const PushSignalArgs *signal = (const PushSignalArgs *)(in->data + sizeof(u64));
    if (in->account_count < 3) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    Config *config;
    Book *book;
    TRY(load_config(in, &in->accounts[0], &config));
    TRY(load_book(in, &in->accounts[1], &in->accounts[0], &book));
    const Account *keeper = &in->accounts[2];
    TRY(require_signer(keeper));
    if (!pubkey_eq(keeper->key, &config->keeper)) {
        return ERROR_NOT_KEEPER;
    }
    const Limits *limits = &config->limits;
    Clock clock;
    sol_get_clock_sysvar(&clock);
    i64 now = clock.unix_timestamp;

    if (config->paused) {
        return ERROR_PAUSED;
    }
    if (signal->sequence <= book->last_sequence) {
        return ERROR_SEQUENCE_REPLAYED;
    }
    TRY(check_timing(book, limits, signal, now));
    if (signal->price == 0) {
        return ERROR_INVALID_PRICE;
    }
    if (signal->confidence_bps > BPS) {
        return ERROR_INVALID_CONFIDENCE;
    }
    if (!pubkey_is_zero(&limits->oracle)) {
        TRY(check_oracle(limits, signal, oracle_quote(in, config), now));
    }
    i64 equity;
    TRY(marked_equity(book, signal->price, &equity));
    i64 day = (i64)((u64)signal->signal_ts / SECONDS_PER_DAY);
    /* A new day starts from the last marked equity, so an overnight loss counts against the new day. */
    i64 day_start = day > book->day ? book->equity : book->day_start_equity;
    i64 high_water_mark = equity > book->high_water_mark ? equity : book->high_water_mark;
    bool drawdown_hit = loss_limit_hit(high_water_mark, equity, limits->max_drawdown_bps);
    bool daily_loss_hit = loss_limit_hit(day_start, equity, limits->daily_loss_bps);
    if (!is_risk_reducing(book->position, signal->target_position)) {
        if (book->halted) {
            return ERROR_BOOK_HALTED;
        }
        if (drawdown_hit) {
            return ERROR_MAX_DRAWDOWN_HIT;
        }
        if (daily_loss_hit) {
            return ERROR_DAILY_LOSS_LIMIT_HIT;
        }
        TRY(check_exposure(limits, book->position, signal, equity));
    }
    u64 avg_entry;
    i64 realized;
    TRY(trade(book, signal->target_position, signal->price, &avg_entry, &realized));

    book->position = signal->target_position;
    book->avg_entry = avg_entry;
    book->realized_pnl = realized;
    book->equity = equity;
    book->high_water_mark = high_water_mark;
    book->day_start_equity = day_start;
    book->day = day;
    book->last_sequence = signal->sequence;
    book->last_signal_ts = signal->signal_ts;
    book->halted = book->halted || drawdown_hit || daily_loss_hit;
    return 0;
}
