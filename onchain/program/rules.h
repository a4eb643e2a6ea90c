/* The risk rules, one function each, in the order and with the arithmetic of onchain/spec.py
 * (the executable specification the differential tests hold this program to). Each returns 0 or
 * the error code of the rule it breaks. */
#ifndef RISK_GUARD_RULES_H
#define RISK_GUARD_RULES_H

#include "checked_math.h"
#include "state.h"

#define SECONDS_PER_DAY 86400ULL

/* now - seconds, or false when it leaves i64. */
static inline bool seconds_before(i64 now, u64 seconds, i64 *out) {
    i64 span;
    return to_i64(seconds, &span) && sub_i64(now, span, out);
}

static u64 check_timing(const Book *book, const Limits *limits, const PushSignalArgs *signal, i64 now) {
    if (signal->signal_ts > now) {
        return ERROR_SIGNAL_FROM_FUTURE;
    }
    i64 oldest;
    if (!seconds_before(now, limits->max_staleness_secs, &oldest)) {
        return ERROR_MATH_OVERFLOW;
    }
    if (signal->signal_ts < 0 || signal->signal_ts < oldest) {
        return ERROR_SIGNAL_STALE;
    }
    if (book->last_sequence > 0) {
        i64 interval, earliest;
        if (!to_i64(limits->min_interval_secs, &interval) ||
            !add_i64(book->last_signal_ts, interval, &earliest)) {
            return ERROR_MATH_OVERFLOW;
        }
        if (signal->signal_ts < earliest) {
            return ERROR_SIGNAL_TOO_FREQUENT;
        }
    }
    return 0;
}

/* `quote` is NULL when the oracle account is missing or is not the configured one. */
static u64 check_oracle(const Limits *limits, const PushSignalArgs *signal, const OracleQuote *quote, i64 now) {
    if (quote == NULL) {
        return ERROR_ORACLE_MISMATCH;
    }
    i64 oldest;
    if (!seconds_before(now, limits->oracle_max_age_secs, &oldest)) {
        return ERROR_MATH_OVERFLOW;
    }
    if (quote->publish_time < oldest) {
        return ERROR_ORACLE_STALE;
    }
    if (quote->price == 0) {
        return ERROR_ORACLE_DEVIATION;
    }
    if (quote->conf > bps_of(quote->price, limits->oracle_max_conf_bps)) {
        return ERROR_ORACLE_CONFIDENCE_TOO_WIDE;
    }
    u64 gap = signal->price >= quote->price ? signal->price - quote->price : quote->price - signal->price;
    if (gap > bps_of(quote->price, limits->oracle_max_deviation_bps)) {
        return ERROR_ORACLE_DEVIATION;
    }
    return 0;
}

/* price - average entry per lot, as i64. */
static inline bool gain_per_lot(u64 price, u64 avg_entry, i64 *out) {
    i64 price_signed, avg_signed;
    return to_i64(price, &price_signed) && to_i64(avg_entry, &avg_signed) &&
           sub_i64(price_signed, avg_signed, out);
}

static u64 marked_equity(const Book *book, u64 price, i64 *equity) {
    i64 base;
    if (!add_i64(book->capital, book->realized_pnl, &base)) {
        return ERROR_MATH_OVERFLOW;
    }
    if (book->position == 0) {
        *equity = base;
        return 0;
    }
    i64 per_lot, unrealized;
    if (!gain_per_lot(price, book->avg_entry, &per_lot) || !mul_i64(book->position, per_lot, &unrealized) ||
        !add_i64(base, unrealized, equity)) {
        return ERROR_MATH_OVERFLOW;
    }
    return 0;
}

/* Equity fell more than `bps` below `reference`; any loss counts once the reference is not positive. */
static bool loss_limit_hit(i64 reference, i64 equity, u32 bps) {
    if (equity >= reference) {
        return false;
    }
    if (reference <= 0) {
        return true;
    }
    return (u64)reference - (u64)equity > bps_of((u64)reference, bps);
}

/* Flat, or the same side and no larger: the only signals a halted book accepts. */
static bool is_risk_reducing(i64 position, i64 target) {
    if (target == 0) {
        return true;
    }
    return position != 0 && (position > 0) == (target > 0) && magnitude(target) <= magnitude(position);
}

static u64 check_exposure(const Limits *limits, i64 position, const PushSignalArgs *signal, i64 equity) {
    if (signal->confidence_bps < limits->min_confidence_bps) {
        return ERROR_CONFIDENCE_TOO_LOW;
    }
    if (distance(signal->target_position, position) > limits->max_order) {
        return ERROR_ORDER_TOO_LARGE;
    }
    u64 size = magnitude(signal->target_position);
    if (size > limits->max_position) {
        return ERROR_POSITION_LIMIT_EXCEEDED;
    }
    u64 notional;
    if (!mul_u64(size, signal->price, &notional)) {
        return ERROR_MATH_OVERFLOW;
    }
    if (notional > limits->max_notional) {
        return ERROR_NOTIONAL_LIMIT_EXCEEDED;
    }
    if (equity <= 0 || notional > bps_of((u64)equity, limits->max_leverage_bps)) {
        return ERROR_LEVERAGE_LIMIT_EXCEEDED;
    }
    return 0;
}

/* Realized PnL of closing `lots` of a position on the side of `position` at `per_lot` gain. */
static bool closing_pnl(i64 position, u64 lots, i64 per_lot, i64 *out) {
    i64 long_pnl;
    if (!mul_lots(lots, per_lot, &long_pnl)) {
        return false;
    }
    if (position > 0) {
        *out = long_pnl;
        return true;
    }
    return negate_i64(long_pnl, out);
}

/* Average entry and realized PnL after moving the position to `target` at `price`. */
static u64 trade(const Book *book, i64 target, u64 price, u64 *avg_entry, i64 *realized) {
    i64 position = book->position;
    *avg_entry = book->avg_entry;
    *realized = book->realized_pnl;
    if (target == position) {
        return 0;
    }
    if (position == 0) {
        *avg_entry = price;
        return 0;
    }
    i64 per_lot, pnl;
    if (!gain_per_lot(price, book->avg_entry, &per_lot)) {
        return ERROR_MATH_OVERFLOW;
    }
    u64 held = magnitude(position);
    if (target != 0 && (target > 0) == (position > 0)) {
        u64 wanted = magnitude(target);
        if (wanted > held) {
            u64 held_cost, added_cost, cost;
            if (!mul_u64(held, book->avg_entry, &held_cost) || !mul_u64(wanted - held, price, &added_cost) ||
                !add_u64(held_cost, added_cost, &cost)) {
                return ERROR_MATH_OVERFLOW;
            }
            *avg_entry = cost / wanted;
            return 0;
        }
        if (!closing_pnl(position, held - wanted, per_lot, &pnl) || !add_i64(*realized, pnl, realized)) {
            return ERROR_MATH_OVERFLOW;
        }
        return 0;
    }
    if (!closing_pnl(position, held, per_lot, &pnl) || !add_i64(*realized, pnl, realized)) {
        return ERROR_MATH_OVERFLOW;
    }
    *avg_entry = target == 0 ? 0 : price;
    return 0;
}

/* Lifting a halt restarts the drawdown and daily-loss references at the book's equity. */
static void resume_book(Book *book) {
    book->halted = false;
    book->high_water_mark = book->equity;
    book->day_start_equity = book->equity;
}

static bool limits_are_valid(const Limits *limits) {
    return limits->max_order > 0 && limits->max_position > 0 && limits->max_notional > 0 &&
           limits->max_leverage_bps > 0 && limits->daily_loss_bps > 0 && limits->daily_loss_bps <= BPS &&
           limits->max_drawdown_bps > 0 && limits->max_drawdown_bps <= BPS && limits->min_confidence_bps <= BPS &&
           limits->oracle_max_deviation_bps <= BPS && limits->oracle_max_conf_bps <= BPS;
}

#endif
