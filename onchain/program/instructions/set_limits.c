/* set_limits(limits): the authority replaces every limit at once. */

static u64 handle_set_limits(const Input *in) {
    if (in->data_len < SET_LIMITS_ARGS_SIZE) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    const Limits *limits = (const Limits *)(in->data + sizeof(u64));
    if (in->account_count < 2) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    Config *config;
    TRY(load_config_as_authority(in, &in->accounts[0], &in->accounts[1], &config));
    if (!limits_are_valid(limits)) {
        return ERROR_INVALID_LIMITS;
    }
    config->limits = *limits;
    return 0;
}
