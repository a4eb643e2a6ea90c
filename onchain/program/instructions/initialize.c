/* initialize(keeper, limits): creates the config PDA (seeds ["config"]), paid by the authority, who
 * must be the program's upgrade authority (accounts: config, authority, program data, system program). */

static u64 handle_initialize(const Input *in) {
    if (in->data_len < INITIALIZE_ARGS_SIZE) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    const InitializeArgs *args = (const InitializeArgs *)(in->data + sizeof(u64));
    if (in->account_count < 4) {
        return ANCHOR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    const Account *config_account = &in->accounts[0];
    const Account *authority = &in->accounts[1];
    const Account *program_data = &in->accounts[2];
    const Account *system_program = &in->accounts[3];
    TRY(require_writable(config_account));
    TRY(require_signer(authority));
    TRY(require_writable(authority));
    TRY(require_system_program(system_program));
    TRY(require_upgrade_authority(in, program_data, authority));
    u8 bump;
    SolSignerSeed seeds[2] = {{(const u8 *)CONFIG_SEED, sizeof(CONFIG_SEED) - 1}, {&bump, 1}};
    TRY(require_canonical_pda(in, seeds, 1, config_account, &bump));
    if (!limits_are_valid(&args->limits)) {
        return ERROR_INVALID_LIMITS;
    }
    NewPda target = {config_account, seeds, 2};
    TRY(create_pda_account(in, authority, &target, system_program, CONFIG_SIZE));
    Config *config = (Config *)config_account->data;
    config->discriminator = ACCOUNT_CONFIG;
    config->authority = *authority->key;
    config->keeper = args->keeper;
    config->limits = args->limits;
    config->paused = false;
    config->bump = bump;
    return 0;
}
