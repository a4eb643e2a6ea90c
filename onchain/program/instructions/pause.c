/* pause(): the authority stops every signal until resume. */

static u64 handle_pause(const Input *in) {
    if (in->account_count < 2) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    Config *config;
    TRY(load_config_as_authority(in, &in->accounts[0], &in->accounts[1], &config));
    config->paused = true;
    return 0;
}
