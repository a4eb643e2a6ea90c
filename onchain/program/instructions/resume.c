/* resume(): the authority lifts the pause and the halt of every book passed after the two named
 * accounts, restarting each book's drawdown and daily-loss references at its equity. */

static u64 handle_resume(const Input *in) {
    if (in->account_count < 2) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    Config *config;
    TRY(load_config_as_authority(in, &in->accounts[0], &in->accounts[1], &config));
    for (u64 i = 2; i < in->account_count; i++) {
        Book *book;
        TRY(load_book(in, &in->accounts[i], &in->accounts[0], &book));
        resume_book(book);
    }
    config->paused = false;
    return 0;
}
