/* The risk guard: one translation unit (the linker takes one object), one handler per instruction
 * in instructions/, state in state.h, rules in rules.h, Anchor's error codes in anchor_errors.h and
 * the discriminators and rule errors generated from the IDL into idl.h. */

#include "accounts.h"
#include "rules.h"

#include "instructions/initialize.c"
#include "instructions/open_book.c"
#include "instructions/pause.c"
#include "instructions/push_signal.c"
#include "instructions/resume.c"
#include "instructions/set_keeper.c"
#include "instructions/set_limits.c"

static const char INSTRUCTION_FAILED[] = "risk_guard: instruction failed, error code:";

static u64 dispatch(const Input *in) {
    if (in->data_len < sizeof(u64)) {
        return ANCHOR_INSTRUCTION_MISSING;
    }
    switch (*(const u64 *)in->data) {
    case IX_PUSH_SIGNAL:
        return handle_push_signal(in);
    case IX_INITIALIZE:
        return handle_initialize(in);
    case IX_SET_LIMITS:
        return handle_set_limits(in);
    case IX_SET_KEEPER:
        return handle_set_keeper(in);
    case IX_PAUSE:
        return handle_pause(in);
    case IX_RESUME:
        return handle_resume(in);
    case IX_OPEN_BOOK:
        return handle_open_book(in);
    default:
        return ANCHOR_INSTRUCTION_FALLBACK_NOT_FOUND;
    }
}

/* Returns 0 on success, otherwise the error code, which the runtime reports as Custom(code). */
u64 entrypoint(u8 *input) {
    Input in;
    if (!parse_input(input, &in)) {
        return ANCHOR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    u64 error = dispatch(&in);
    if (error != 0) {
        sol_log_(INSTRUCTION_FAILED, sizeof(INSTRUCTION_FAILED) - 1);
        sol_log_64_(error, 0, 0, 0, 0);
    }
    return error;
}
