/* Checked 64-bit arithmetic. Every helper returns false on overflow and the caller answers
 * MathOverflow; nothing wraps silently. Multiplication overflow is detected with an unsigned
 * division because the BPF target has neither 128-bit products nor signed division. */
#ifndef RISK_GUARD_CHECKED_MATH_H
#define RISK_GUARD_CHECKED_MATH_H

#include "sbf.h"

#define BPS 10000ULL
#define I64_MIN_MAGNITUDE 0x8000000000000000ULL

static inline bool add_i64(i64 a, i64 b, i64 *out) { return !__builtin_add_overflow(a, b, out); }

static inline bool sub_i64(i64 a, i64 b, i64 *out) { return !__builtin_sub_overflow(a, b, out); }

static inline bool add_u64(u64 a, u64 b, u64 *out) { return !__builtin_add_overflow(a, b, out); }

static inline bool mul_u64(u64 a, u64 b, u64 *out) {
    if (a == 0) {
        *out = 0;
        return true;
    }
    u64 largest = U64_MAX / a;
    /* Opaque to the optimizer, which would otherwise fold the test into a 128-bit multiply
     * (a call to __multi3, which the BPF target cannot make). */
    __asm__("" : "+r"(largest));
    if (b > largest) {
        return false;
    }
    *out = a * b;
    return true;
}

/* |value| as u64; exact for i64::MIN too. */
static inline u64 magnitude(i64 value) { return value < 0 ? (u64)0 - (u64)value : (u64)value; }

/* The i64 with this magnitude and sign, if it exists. */
static inline bool signed_value(u64 size, bool negative, i64 *out) {
    if (negative) {
        if (size > I64_MIN_MAGNITUDE) {
            return false;
        }
        *out = (i64)((u64)0 - size);
        return true;
    }
    if (size > (u64)I64_MAX) {
        return false;
    }
    *out = (i64)size;
    return true;
}

/* lots x per_lot for an unsigned lot count and a signed per-lot amount. */
static inline bool mul_lots(u64 lots, i64 per_lot, i64 *out) {
    u64 size;
    if (!mul_u64(lots, magnitude(per_lot), &size)) {
        return false;
    }
    return signed_value(size, per_lot < 0 && size != 0, out);
}

static inline bool mul_i64(i64 a, i64 b, i64 *out) {
    u64 size;
    if (!mul_u64(magnitude(a), magnitude(b), &size)) {
        return false;
    }
    return signed_value(size, (a < 0) != (b < 0) && size != 0, out);
}

static inline bool negate_i64(i64 value, i64 *out) { return sub_i64(0, value, out); }

/* An unsigned value (price, duration) as i64, if it fits. */
static inline bool to_i64(u64 value, i64 *out) { return signed_value(value, false, out); }

/* floor(amount x bps / 10000), saturating at u64::MAX: split so no intermediate can overflow. */
static inline u64 bps_of(u64 amount, u64 bps) {
    u64 whole;
    if (!mul_u64(amount / BPS, bps, &whole)) {
        return U64_MAX;
    }
    u64 total;
    if (!add_u64(whole, (amount % BPS) * bps / BPS, &total)) {
        return U64_MAX;
    }
    return total;
}

/* |a - b| for two i64 without overflow (the wrapped unsigned difference is exact). */
static inline u64 distance(i64 a, i64 b) { return a >= b ? (u64)a - (u64)b : (u64)b - (u64)a; }

#endif
