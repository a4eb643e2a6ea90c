/* set_keeper(keeper): the authority rotates the key allowed to push signals. */

static u64 handle_set_keeper(const Input *in) {
    if (in->data_len < SET_KEEPER_ARGS_SIZE) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    const Pubkey *keeper = (const Pubkey *)(in->data + sizeof(u64));
    if (in->account_count < 2) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    Config *config;
    TRY(load_config_as_authority(in, &in->accounts[0], &in->accounts[1], &config));
    config->keeper = *keeper;
    return 0;
}
