/* open_book(market, capital): the authority creates a market's book PDA (seeds ["book", market]). */

static u64 handle_open_book(const Input *in) {
    if (in->data_len < OPEN_BOOK_ARGS_SIZE) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    const OpenBookArgs *args = (const OpenBookArgs *)(in->data + sizeof(u64));
    if (in->account_count < 4) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    const Account *config_account = &in->accounts[0];
    const Account *book_account = &in->accounts[1];
    const Account *authority = &in->accounts[2];
    const Account *system_program = &in->accounts[3];
    Config *config;
    TRY(load_config(in, config_account, &config));
    TRY(require_config_pda(in, config_account, config));
    TRY(require_writable(book_account));
    TRY(require_signer(authority));
    TRY(require_writable(authority));
    TRY(require_system_program(system_program));
    if (!pubkey_eq(authority->key, &config->authority)) {
        return ERROR_UNAUTHORIZED;
    }
    if (args->capital == 0 || args->capital > (u64)I64_MAX) {
        return ERROR_INVALID_CAPITAL;
    }
    u8 bump;
    SolSignerSeed seeds[3] = {
        {(const u8 *)BOOK_SEED, sizeof(BOOK_SEED) - 1}, {args->market, MARKET_BYTES}, {&bump, 1}};
    TRY(require_canonical_pda(in, seeds, 2, book_account, &bump));
    NewPda target = {book_account, seeds, 3};
    TRY(create_pda_account(in, authority, &target, system_program, BOOK_SIZE));
    Book *book = (Book *)book_account->data;
    book->discriminator = ACCOUNT_BOOK;
    book->config = *config_account->key;
    book->address = *book_account->key;
    sol_memcpy_(book->market, args->market, MARKET_BYTES);
    book->capital = (i64)args->capital;
    book->equity = book->capital;
    book->high_water_mark = book->capital;
    book->day_start_equity = book->capital;
    book->bump = bump;
    return 0;
}
