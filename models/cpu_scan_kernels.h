/* The scan kernels for one precision, included by cpu_scan.c with REAL, SUFFIX, EXP, EXP2, LOG2E,
 * FLUSH_EXPONENT and LOG1P_TERMS defined.
 *
 * Layouts (C order): u, dt, y, du, ddt (batch, dim, length); A, dA_part rows (dim, d_state);
 * Bt, Ct (batch, length, d_state), contiguous per step; checkpoints (batch, dim, chunks - 1,
 * d_state), the state before each CHUNK steps after the first (the first starts from zeros, which are
 * not stored: at CryptoMamba's length 6 they were half a Mamba block's workspace); dB_part, dC_part
 * (batch, groups, length, d_state).
 */
#define CAT_(name, suffix) name##_##suffix
#define CAT(name, suffix) CAT_(name, suffix)
#define NAME(name) CAT(name, SUFFIX)

/* The decay exp(dt * A) = 2^(dt * A2) for A2 = A log2(e), flushed to 0 where it would make subnormal
 * products. Testing the exponent, not the value, lets EXP2 skip a lower clamp; NaN and -inf give 0. */
static inline REAL NAME(decay)(REAL exponent2) {
    return exponent2 >= FLUSH_EXPONENT ? EXP2(exponent2) : (REAL)0;
}

/* log(1 + y) for 0 <= y <= 1, branch-free so loops over it vectorise: with s = y / (2 + y) <= 1/3,
 * log(1 + y) = 2 atanh(s) = 2 (s + s^3 / 3 + s^5 / 5 + ...), LOG1P_TERMS terms of it. */
static inline REAL NAME(log1p_unit)(REAL y) {
    const REAL s = y / ((REAL)2 + y), s2 = s * s;
    REAL sum = 0;
    for (int k = LOG1P_TERMS - 1; k >= 0; k--) sum = sum * s2 + (REAL)1 / (REAL)(2 * k + 1);
    return (REAL)2 * s * sum;
}

/* torch's softplus (threshold 20), as log(1 + e^x) = max(x, 0) + log(1 + e^-|x|); vectorisable. */
static inline REAL NAME(softplus)(REAL x) {
    const REAL smooth = (x > 0 ? x : (REAL)0) + NAME(log1p_unit)(EXP(x > 0 ? -x : x));
    return x > (REAL)20 ? x : smooth;
}

static inline REAL NAME(sigmoid)(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }

static inline REAL NAME(silu)(REAL x) { return x * NAME(sigmoid)(x); }

struct NAME(scan_args) {
    const REAL *u, *dt, *A, *A2, *Bt, *Ct, *dy; /* A2: A log2(e), from base2_rates */
    long dim, length, d_state, groups; /* the batch row comes from the work item */
    REAL *y, *checkpoints, *du, *ddt;
    REAL *dA_part, *dB_part, *dC_part;
};

/* A log2(e) (see exp2_f32), formed once per call; the caller frees it. */
static REAL *NAME(base2_rates)(const REAL *A, long count) {
    REAL *A2 = malloc(sizeof(REAL) * (size_t)count);
    if (A2 == NULL) abort();
    for (long i = 0; i < count; i++) A2[i] = A[i] * LOG2E;
    return A2;
}

/* One step of the recurrence for one channel, a2 = A2's row: after = decay(dt a2) * before + dt u B
 * (the same array, or disjoint ones); returns <C, after> and keeps the decays where `decays` is not NULL
 * (a constant NULL drops the stores when inlined). The backward recomputes its states with this same
 * function, so it sees the forward's values. */
static inline REAL NAME(advance)(const REAL *before, REAL *after, REAL *restrict decays,
                                 const REAL *restrict a2, const REAL *restrict b, const REAL *restrict c,
                                 REAL dt, REAL dtu, long d_state) {
    REAL acc = 0;
#pragma omp simd reduction(+ : acc)
    for (long n = 0; n < d_state; n++) {
        REAL decay = NAME(decay)(dt * a2[n]);
        if (decays) decays[n] = decay;
        after[n] = decay * before[n] + dtu * b[n];
        acc += c[n] * after[n];
    }
    return acc;
}

static inline void NAME(forward_channel)(const struct NAME(scan_args) *s, long item, const long N) {
    const long b = item / s->dim, d = item % s->dim, L = s->length;
    const long chunks = (L + CHUNK - 1) / CHUNK;
    const REAL *u = s->u + item * L, *dt = s->dt + item * L, *a2 = s->A2 + d * N;
    REAL *y = s->y + item * L, *checkpoints = s->checkpoints + item * (chunks - 1) * N;
    REAL h[N];
    memset(h, 0, sizeof(h));
    for (long t = 0; t < L; t++) {
        if (t % CHUNK == 0 && t > 0) memcpy(checkpoints + (t / CHUNK - 1) * N, h, sizeof(h));
        const REAL *bt = s->Bt + (b * L + t) * N, *ct = s->Ct + (b * L + t) * N;
        y[t] = NAME(advance)(h, h, NULL, a2, bt, ct, dt[t], dt[t] * u[t], N);
    }
}

static void NAME(forward_item)(const void *opaque, long item) {
    const struct NAME(scan_args) *s = opaque;
    WITH_CONSTANT_D_STATE(NAME(forward_channel), s, item);
}

/* Reverse scan for the channels d = g, g + groups, ... of batch row b (item = b * groups + g). Each item
 * owns its (b, g) slice of dB_part and dC_part, so the channel sums need no atomics. */
static inline void NAME(backward_channels)(const struct NAME(scan_args) *s, long item, const long N) {
    const long b = item / s->groups, g = item % s->groups, L = s->length;
    const long chunks = (L + CHUNK - 1) / CHUNK;
    REAL *buffer = malloc(sizeof(REAL) * (2 * CHUNK + 3) * N); /* a few hundred KiB at most */
    if (buffer == NULL) abort();
    REAL *states = buffer;                   /* [k + 1]: h after step k of the chunk, [0]: before */
    REAL *decays = states + (CHUNK + 1) * N; /* [k]: decay(dt_k A) */
    REAL *carry = decays + CHUNK * N;        /* dL/dh_t * decay_t, carried back to step t - 1 */
    REAL *grad_a = carry + N;                /* dL/dA_d, summed over time */
    REAL *dB = s->dB_part + item * L * N, *dC = s->dC_part + item * L * N;
    for (long d = g; d < s->dim; d += s->groups) {
        const long row = b * s->dim + d;
        const REAL *u = s->u + row * L, *dt = s->dt + row * L, *dy = s->dy + row * L;
        const REAL *a = s->A + d * N, *a2 = s->A2 + d * N;
        REAL *du = s->du + row * L, *ddt = s->ddt + row * L;
        memset(carry, 0, sizeof(REAL) * N);
        memset(grad_a, 0, sizeof(REAL) * N);
        for (long c = chunks - 1; c >= 0; c--) {
            const long start = c * CHUNK, steps = L - start < CHUNK ? L - start : CHUNK;
            if (c == 0) {
                memset(states, 0, sizeof(REAL) * N);
            } else {
                memcpy(states, s->checkpoints + (row * (chunks - 1) + c - 1) * N, sizeof(REAL) * N);
            }
            for (long k = 0; k < steps; k++) {
                const long t = start + k;
                const REAL *bt = s->Bt + (b * L + t) * N, *ct = s->Ct + (b * L + t) * N;
                NAME(advance)(states + k * N, states + (k + 1) * N, decays + k * N, a2, bt, ct, dt[t],
                              dt[t] * u[t], N);
            }
            /* Backwards through the chunk: dL/dh_t is the carry from t + 1 plus y_t's own term; every
             * gradient of step t follows from it at once. Only the carry is sequential in time. */
            for (long k = steps - 1; k >= 0; k--) {
                const long t = start + k;
                const REAL *bt = s->Bt + (b * L + t) * N, *ct = s->Ct + (b * L + t) * N;
                const REAL *decay = decays + k * N, *before = states + k * N, *after = states + (k + 1) * N;
                const REAL dt_t = dt[t], u_t = u[t], dtu = dt_t * u_t, dy_t = dy[t];
                REAL *dB_t = dB + t * N, *dC_t = dC + t * N;
                REAL grad_bu = 0, grad_dt = 0; /* sum_n dL/dh_n B_n; dL/d(dt) through the decays */
#pragma omp simd reduction(+ : grad_bu, grad_dt)
                for (long n = 0; n < N; n++) {
                    const REAL grad = carry[n] + dy_t * ct[n];             /* dL/dh_t */
                    const REAL grad_exponent = grad * decay[n] * before[n]; /* dL/d(dt A_n) */
                    carry[n] = grad * decay[n];
                    grad_bu += grad * bt[n];
                    grad_dt += grad_exponent * a[n];
                    grad_a[n] += grad_exponent * dt_t;
                    dB_t[n] += grad * dtu;
                    dC_t[n] += dy_t * after[n];
                }
                du[t] = grad_bu * dt_t;
                ddt[t] = grad_dt + grad_bu * u_t;
            }
        }
        memcpy(s->dA_part + row * N, grad_a, sizeof(REAL) * N);
    }
    free(buffer);
}

static void NAME(backward_item)(const void *opaque, long item) {
    const struct NAME(scan_args) *s = opaque;
    WITH_CONSTANT_D_STATE(NAME(backward_channels), s, item);
}

void NAME(scan_forward)(const REAL *u, const REAL *dt, const REAL *A, const REAL *Bt, const REAL *Ct,
                       long batch, long dim, long length, long d_state, REAL *y, REAL *checkpoints,
                       int threads) {
    REAL *A2 = NAME(base2_rates)(A, dim * d_state);
    struct NAME(scan_args) s = {.u = u, .dt = dt, .A = A, .A2 = A2, .Bt = Bt, .Ct = Ct, .dim = dim,
                                .length = length, .d_state = d_state, .y = y, .checkpoints = checkpoints};
    parallel_for(batch * dim, threads, NAME(forward_item), &s);
    free(A2);
}

void NAME(scan_backward)(const REAL *u, const REAL *dt, const REAL *A, const REAL *Bt, const REAL *Ct,
                        const REAL *dy, const REAL *checkpoints, long batch, long dim, long length,
                        long d_state, long groups, REAL *du, REAL *ddt, REAL *dA_part, REAL *dB_part,
                        REAL *dC_part, int threads) {
    REAL *A2 = NAME(base2_rates)(A, dim * d_state);
    struct NAME(scan_args) s = {.u = u, .dt = dt, .A = A, .A2 = A2, .Bt = Bt, .Ct = Ct, .dy = dy,
                                .dim = dim, .length = length, .d_state = d_state, .groups = groups,
                                .checkpoints = (REAL *)checkpoints, .du = du, .ddt = ddt,
                                .dA_part = dA_part, .dB_part = dB_part, .dC_part = dC_part};
    parallel_for(batch * groups, threads, NAME(backward_item), &s);
    free(A2);
}

/* y[j] = sum_k W[j, k] x[k] (+ bias[j]) for W (rows, cols): the step's projections at batch 1 are
 * matrix-vector products far too small for a BLAS call to pay. */
static inline void NAME(project)(const REAL *restrict W, const REAL *restrict bias, const REAL *restrict x,
                                 long rows, long cols, REAL *restrict y) {
    for (long j = 0; j < rows; j++) {
        REAL acc = bias ? bias[j] : (REAL)0;
#pragma omp simd reduction(+ : acc)
        for (long k = 0; k < cols; k++) acc += W[j * cols + k] * x[k];
        y[j] = acc;
    }
}

/* One new bar through a whole Mamba block (models/mamba_block.py's `Mamba.step`, in one call): in_proj,
 * the causal conv over the last d_conv inputs, x_proj, dt_proj with softplus, the state update with the
 * D skip and silu(z) gate, and out_proj. conv_state (batch, d_inner, d_conv) and ssm_state (batch,
 * d_inner, d_state) are updated in place; A2 = -exp(A_log) log2(e) is formed here; *_bias may be NULL. */
void NAME(mamba_step)(const REAL *hidden, REAL *conv_state, REAL *ssm_state, const REAL *in_weight,
                      const REAL *in_bias, const REAL *conv_weight, const REAL *conv_bias,
                      const REAL *x_weight, const REAL *dt_weight, const REAL *dt_bias, const REAL *A_log,
                      const REAL *D, const REAL *out_weight, const REAL *out_bias, long batch, long d_model,
                      long d_inner, long d_conv, long dt_rank, long d_state, REAL *out) {
    REAL xz[2 * d_inner], x_dbl[dt_rank + 2 * d_state], y[d_inner], dt_raw[d_inner];
    REAL A2[d_inner * d_state];
#pragma omp simd
    for (long i = 0; i < d_inner * d_state; i++) A2[i] = -EXP(A_log[i]) * LOG2E;
    for (long b = 0; b < batch; b++) {
        NAME(project)(in_weight, in_bias, hidden + b * d_model, 2 * d_inner, d_model, xz);
        REAL *x = xz, *z = xz + d_inner;
        for (long c = 0; c < d_inner; c++) {
            REAL *window = conv_state + (b * d_inner + c) * d_conv;
            memmove(window, window + 1, sizeof(REAL) * (d_conv - 1));
            window[d_conv - 1] = x[c];
            REAL acc = conv_bias ? conv_bias[c] : (REAL)0;
            for (long k = 0; k < d_conv; k++) acc += window[k] * conv_weight[c * d_conv + k];
            x[c] = NAME(silu)(acc);
        }
        NAME(project)(x_weight, NULL, x, dt_rank + 2 * d_state, d_inner, x_dbl);
        const REAL *B = x_dbl + dt_rank, *C = B + d_state;
        NAME(project)(dt_weight, dt_bias, x_dbl, d_inner, dt_rank, dt_raw);
        for (long c = 0; c < d_inner; c++) {
            REAL dt = NAME(softplus)(dt_raw[c]);
            REAL *h = ssm_state + (b * d_inner + c) * d_state;
            REAL value = NAME(advance)(h, h, NULL, A2 + c * d_state, B, C, dt, dt * x[c], d_state);
            y[c] = (value + D[c] * x[c]) * NAME(silu)(z[c]);
        }
        NAME(project)(out_weight, out_bias, y, d_model, d_inner, out + b * d_model);
    }
}
