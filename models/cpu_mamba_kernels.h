/* A whole Mamba block's forward and backward for training on the CPU, for one precision; included by
 * cpu_scan.c after cpu_scan_kernels.h (whose scan, `project` and `silu` it uses), with the same macros.
 *
 * models/mamba_block.py's readable `Mamba.forward` is about forty small torch operations and twice as
 * many in its backward; on CryptoMamba's tiny blocks (batch 32, length 6, d_inner 28..64) their fixed
 * cost outweighs the arithmetic. Here the block is two calls. Work items are batch rows: the forward
 * keeps every intermediate of a row in its slice of `workspace` (rows of length L; see
 * `mamba_workspace_layout`), and the backward reads them instead of recomputing anything but the scan's
 * states within a chunk, as the scan's own backward does.
 *
 * Row layouts (C order): hidden, out, dhidden (L, d_model); xz (L, 2 d_inner): conv input x, then gate
 * z; xc, xs (L, d_inner): conv output before and after silu; x_dbl (L, dt_rank + 2 d_state): dt before
 * dt_proj, B, C; dt_raw (L, d_inner): dt_proj's output before softplus; u, dt, y_scan (d_inner, L) and
 * bt, ct (L, d_state): the scan's operands, laid out as scan_forward wants them. Parameters come as
 * `params[P_...]` in mamba-ssm's shapes (absent biases are NULL); gradients go to grads[P_...], each
 * `threads` rows zeroed by the caller, grad_stride elements apart: thread k adds into row k, and row 0
 * ends up holding the sum. (With grad_stride the size of all gradients together, every thread's
 * gradients form one contiguous row, laid out as the parameters are: see models/cpu_mamba.py.)
 */

struct NAME(mamba_args) {
    long batch, length, d_model, d_inner, d_conv, dt_rank, d_state, threads, grad_stride;
    struct mamba_workspace layout;
    const REAL *hidden, *const *params, *A, *A2, *dout; /* A = -exp(A_log); A2 = A log2(e) */
    REAL *in_wT, *x_wT, *dt_wT, *out_wT; /* the forward's projections, transposed */
    REAL *workspace, *out, *dhidden, *const *grads;
};

/* d silu(x) / dx */
static inline REAL NAME(silu_slope)(REAL x) {
    REAL s = NAME(sigmoid)(x);
    return s * ((REAL)1 + x * ((REAL)1 - s));
}

/* Y[p, k0 + k] += sum_j W[j, k0 + k] G[p, j] for p < positions and k < width, both compile-time
 * constants once inlined: the positions x width partial sums stay in registers for the whole sum over
 * j, each tile of W is loaded once for all the positions, and the positions' sums are independent
 * chains, so a narrow tile (a projection's odd last columns) is not held up by one FMA's latency. */
static inline void NAME(project_back_tile)(const REAL *restrict W, const REAL *restrict G, long ldg,
                                           long rows, long cols, REAL *restrict Y, long ldy,
                                           const long positions, long k0, const long width) {
    REAL acc[positions][width];
    for (long p = 0; p < positions; p++) {
        for (long k = 0; k < width; k++) acc[p][k] = Y[p * ldy + k0 + k];
    }
    for (long j = 0; j < rows; j++) {
        const REAL *w = W + j * cols + k0;
        for (long p = 0; p < positions; p++) {
            const REAL g = G[p * ldg + j];
#pragma omp simd
            for (long k = 0; k < width; k++) acc[p][k] += w[k] * g;
        }
    }
    for (long p = 0; p < positions; p++) {
        for (long k = 0; k < width; k++) Y[p * ldy + k0 + k] = acc[p][k];
    }
}

/* Y[p] += W^T G[p] for W (rows, cols) at each of `positions` positions, G (positions, rows) and Y
 * (positions, cols) with row strides ldg and ldy: the gradient through `project`, and with W
 * transposed the projection itself. Positions go four at a time (a 4 x 64 tile of floats is 16 of
 * AVX-512's 32 registers; of doubles, all 32, which spills, but float64 is for checking), then two,
 * then one; columns in FOR_COLUMN_TILES' tiles. */
static void NAME(project_back_rows)(const REAL *restrict W, const REAL *restrict G, long ldg, long positions,
                                    long rows, long cols, REAL *restrict Y, long ldy) {
    long p = 0;
    for (; p + 4 <= positions; p += 4) {
        FOR_COLUMN_TILES(cols, NAME(project_back_tile), W, G + p * ldg, ldg, rows, cols, Y + p * ldy, ldy, 4);
    }
    if (p + 2 <= positions) {
        FOR_COLUMN_TILES(cols, NAME(project_back_tile), W, G + p * ldg, ldg, rows, cols, Y + p * ldy, ldy, 2);
        p += 2;
    }
    if (p < positions) {
        FOR_COLUMN_TILES(cols, NAME(project_back_tile), W, G + p * ldg, ldg, rows, cols, Y + p * ldy, ldy, 1);
    }
}

/* Y[p] = bias + W X[p] at each of `positions` positions, for W given transposed, WT (cols, rows), X
 * (positions, cols) and Y (positions, rows) with row strides ldx and ldy (bias may be NULL): sums of
 * rows of WT, which vectorise without the per-output horizontal sums of `project`. */
static inline void NAME(project_rows)(const REAL *restrict WT, const REAL *restrict bias,
                                      const REAL *restrict X, long ldx, long positions, long rows, long cols,
                                      REAL *restrict Y, long ldy) {
    for (long p = 0; p < positions; p++) {
        for (long j = 0; j < rows; j++) Y[p * ldy + j] = bias ? bias[j] : (REAL)0;
    }
    NAME(project_back_rows)(WT, X, ldx, positions, cols, rows, Y, ldy);
}

/* A copy of W (rows, cols) transposed; the caller frees it. */
static REAL *NAME(transposed)(const REAL *W, long rows, long cols) {
    REAL *WT = malloc(sizeof(REAL) * (size_t)(rows * cols));
    if (WT == NULL) abort();
    for (long j = 0; j < rows; j++) {
        for (long k = 0; k < cols; k++) WT[k * rows + j] = W[j * cols + k];
    }
    return WT;
}

/* gW[j, k0 + k] += sum_t G[t, j] X[t, k0 + k] for k < width, over `positions` rows of G and X (row
 * strides ldg, ldx): the sum over positions stays in registers, so gW is read and written once. */
static inline void NAME(add_outer_columns)(REAL *restrict gW, const REAL *restrict G, long ldg,
                                           const REAL *restrict X, long ldx, long positions, long rows,
                                           long cols, long k0, const long width) {
    for (long j = 0; j < rows; j++) {
        REAL acc[width], *w = gW + j * cols + k0;
        for (long k = 0; k < width; k++) acc[k] = w[k];
        for (long t = 0; t < positions; t++) {
            const REAL g = G[t * ldg + j], *x = X + t * ldx + k0;
#pragma omp simd
            for (long k = 0; k < width; k++) acc[k] += g * x[k];
        }
        for (long k = 0; k < width; k++) w[k] = acc[k];
    }
}

/* gW[j, k] += sum_t G[t, j] X[t, k] and gb[j] += sum_t G[t, j] (gb may be NULL): `project`'s weight and
 * bias gradients over all positions of a row at once, for G (positions, rows) and X (positions, cols). */
static inline void NAME(add_outer_rows)(REAL *restrict gW, REAL *restrict gb, const REAL *restrict G,
                                        long ldg, const REAL *restrict X, long ldx, long positions,
                                        long rows, long cols) {
    for (long t = 0; gb && t < positions; t++) {
#pragma omp simd
        for (long j = 0; j < rows; j++) gb[j] += G[t * ldg + j];
    }
    FOR_COLUMN_TILES(cols, NAME(add_outer_columns), gW, G, ldg, X, ldx, positions, rows, cols);
}

/* The scan's arguments for one batch row of the workspace: scan_forward's layout with a batch of 1. */
static struct NAME(scan_args) NAME(row_scan)(const struct NAME(mamba_args) *a, REAL *w) {
    const struct mamba_workspace *o = &a->layout;
    return (struct NAME(scan_args)){.u = w + o->u, .dt = w + o->dt, .A = a->A, .A2 = a->A2, .Bt = w + o->bt,
                                    .Ct = w + o->ct, .dim = a->d_inner, .length = a->length,
                                    .d_state = a->d_state, .groups = 1, .y = w + o->y_scan,
                                    .checkpoints = w + o->checkpoints};
}

/* One batch row through the block: its input `hidden` and output `out` (L, d_model), and `w`, its slice
 * of the workspace, where the intermediates stay for the backward. */
static inline void NAME(mamba_forward_row)(const struct NAME(mamba_args) *a, const REAL *hidden, REAL *w,
                                           REAL *out, const long N) {
    const long L = a->length, dm = a->d_model, di = a->d_inner, K = a->d_conv, R = a->dt_rank;
    const long E = R + 2 * N;
    const REAL *const *p = a->params;
    const struct mamba_workspace *o = &a->layout;
    REAL *xz = w + o->xz, *xc = w + o->xc, *xs = w + o->xs, *x_dbl = w + o->x_dbl, *dt_raw = w + o->dt_raw;
    REAL *u = w + o->u, *dt = w + o->dt, *bt = w + o->bt, *ct = w + o->ct, *y_scan = w + o->y_scan;
    NAME(project_rows)(a->in_wT, p[P_IN_B], hidden, dm, L, 2 * di, dm, xz, 2 * di);
    for (long t = 0; t < L; t++) {
        REAL *xc_t = xc + t * di, *xs_t = xs + t * di;
        for (long c = 0; c < di; c++) xc_t[c] = p[P_CONV_B] ? p[P_CONV_B][c] : (REAL)0;
        for (long k = 0, s = t - K + 1; k < K; k++, s++) { /* causal depthwise conv: zeros before 0 */
            if (s < 0) continue;
#pragma omp simd
            for (long c = 0; c < di; c++) xc_t[c] += p[P_CONV_W][c * K + k] * xz[s * 2 * di + c];
        }
#pragma omp simd
        for (long c = 0; c < di; c++) xs_t[c] = NAME(silu)(xc_t[c]);
    }
    NAME(project_rows)(a->x_wT, NULL, xs, di, L, E, di, x_dbl, E);
    NAME(project_rows)(a->dt_wT, p[P_DT_B], x_dbl, E, L, di, R, dt_raw, di);
    for (long t = 0; t < L; t++) { /* the scan's (channel, time) layout */
        for (long c = 0; c < di; c++) {
            u[c * L + t] = xs[t * di + c];
            dt[c * L + t] = NAME(softplus)(dt_raw[t * di + c]);
        }
        memcpy(bt + t * N, x_dbl + t * E + R, sizeof(REAL) * N);
        memcpy(ct + t * N, x_dbl + t * E + R + N, sizeof(REAL) * N);
    }
    const struct NAME(scan_args) scan = NAME(row_scan)(a, w);
    for (long c = 0; c < di; c++) NAME(forward_channel)(&scan, c, N);
    /* The D skip and silu(z) gate, then out_proj, GATED_POSITIONS positions at a time. */
    enum { GATED_POSITIONS = 4 };
    REAL gated[GATED_POSITIONS * di];
    for (long t0 = 0; t0 < L; t0 += GATED_POSITIONS) {
        const long positions = L - t0 < GATED_POSITIONS ? L - t0 : GATED_POSITIONS;
        for (long q = 0; q < positions; q++) {
            const long t = t0 + q;
            const REAL *z = xz + t * 2 * di + di;
            REAL *gated_t = gated + q * di;
            for (long c = 0; c < di; c++) gated_t[c] = y_scan[c * L + t];
#pragma omp simd
            for (long c = 0; c < di; c++) {
                gated_t[c] = (gated_t[c] + p[P_D][c] * xs[t * di + c]) * NAME(silu)(z[c]);
            }
        }
        NAME(project_rows)(a->out_wT, p[P_OUT_B], gated, di, positions, dm, di, out + t0 * dm, dm);
    }
}

static void NAME(mamba_forward_item)(const void *opaque, long b) {
    const struct NAME(mamba_args) *a = opaque;
    const long row = a->length * a->d_model;
    WITH_CONSTANT_D_STATE(NAME(mamba_forward_row), a, a->hidden + b * row, a->workspace + b * a->layout.size,
                          a->out + b * row);
}

/* This thread's row of gradient p, or NULL for an absent bias. */
static inline REAL *NAME(grad)(const struct NAME(mamba_args) *a, int p, long thread) {
    return a->grads[p] ? a->grads[p] + thread * a->grad_stride : NULL;
}

/* One batch row back through the block, from its output's gradient `dout` to its input's, `dhidden`
 * (both (L, d_model)), given the row's input `hidden` and workspace slice `w`; the parameters'
 * gradients are added into `thread`'s rows. The row's workspace is read, not changed. */
static inline void NAME(mamba_backward_row)(const struct NAME(mamba_args) *a, const REAL *dout,
                                            const REAL *hidden, REAL *w, REAL *dhidden, long thread,
                                            const long N) {
    const long L = a->length, dm = a->d_model, di = a->d_inner, K = a->d_conv, R = a->dt_rank;
    const long E = R + 2 * N;
    const REAL *const *p = a->params;
    const struct mamba_workspace *o = &a->layout;
    const REAL *xz = w + o->xz, *xc = w + o->xc, *xs = w + o->xs, *x_dbl = w + o->x_dbl;
    const REAL *dt_raw = w + o->dt_raw, *y_scan = w + o->y_scan;
    REAL *g_in_w = NAME(grad)(a, P_IN_W, thread), *g_in_b = NAME(grad)(a, P_IN_B, thread);
    REAL *g_conv_w = NAME(grad)(a, P_CONV_W, thread), *g_conv_b = NAME(grad)(a, P_CONV_B, thread);
    REAL *g_x_w = NAME(grad)(a, P_X_W, thread), *g_dt_w = NAME(grad)(a, P_DT_W, thread);
    REAL *g_dt_b = NAME(grad)(a, P_DT_B, thread), *g_a_log = NAME(grad)(a, P_A_LOG, thread);
    REAL *g_d = NAME(grad)(a, P_D, thread), *g_out_w = NAME(grad)(a, P_OUT_W, thread);
    REAL *g_out_b = NAME(grad)(a, P_OUT_B, thread);

    /* Scratch, zeroed: the gradients w.r.t. xs (L, di), the scan's dy, du and ddt ((di, L) each),
     * dt_raw (L, di), xz (L, 2 di), the scan's dA (di, N), dB and dC ((L, N) each), the gated output
     * (L, di) and x_dbl (L, E); and the gated output itself (L, di), recomputed for out_proj's weight. */
    REAL *scratch = calloc((size_t)(L * di * 7 + L * 2 * di + di * N + 2 * L * N + L * E), sizeof(REAL));
    if (scratch == NULL) abort();
    REAL *dxs = scratch, *dy_scan = dxs + L * di, *du = dy_scan + L * di, *ddt = du + L * di;
    REAL *d_dt_raw = ddt + L * di, *dxz = d_dt_raw + L * di, *dA = dxz + L * 2 * di, *dB = dA + di * N;
    REAL *dC = dB + L * N, *gated = dC + L * N, *dgated = gated + L * di, *dx_dbl = dgated + L * di;
    REAL dy[di];

    /* Back through out_proj, the gate and the D skip. */
    NAME(project_back_rows)(p[P_OUT_W], dout, dm, L, dm, di, dgated, di);
    for (long t = 0; t < L; t++) {
        const REAL *z = xz + t * 2 * di + di, *xs_t = xs + t * di, *dgated_t = dgated + t * di;
        REAL *dz = dxz + t * 2 * di + di, *dxs_t = dxs + t * di;
        for (long c = 0; c < di; c++) dy[c] = y_scan[c * L + t];
#pragma omp simd
        for (long c = 0; c < di; c++) {
            const REAL gate = NAME(silu)(z[c]), y = dy[c] + p[P_D][c] * xs_t[c];
            gated[t * di + c] = y * gate;
            dz[c] = dgated_t[c] * y * NAME(silu_slope)(z[c]);
            dy[c] = dgated_t[c] * gate; /* now dL/dy */
            dxs_t[c] = dy[c] * p[P_D][c];
            g_d[c] += dy[c] * xs_t[c];
        }
        for (long c = 0; c < di; c++) dy_scan[c * L + t] = dy[c];
    }
    NAME(add_outer_rows)(g_out_w, g_out_b, dout, dm, gated, di, L, dm, di);
    /* The scan, then A = -exp(A_log), so dL/dA_log = dL/dA * A. */
    struct NAME(scan_args) scan = NAME(row_scan)(a, w);
    scan.dy = dy_scan, scan.du = du, scan.ddt = ddt, scan.dA_part = dA, scan.dB_part = dB, scan.dC_part = dC;
    NAME(backward_channels)(&scan, 0, N);
#pragma omp simd
    for (long i = 0; i < di * N; i++) g_a_log[i] += dA[i] * a->A[i];
    /* Back through dt_proj's softplus, dt_proj, x_proj and the conv's silu. */
    for (long t = 0; t < L; t++) {
        const REAL *dt_raw_t = dt_raw + t * di;
        REAL *d_dt_raw_t = d_dt_raw + t * di, *dxs_t = dxs + t * di;
        for (long c = 0; c < di; c++) {
            d_dt_raw_t[c] = ddt[c * L + t];
            dxs_t[c] += du[c * L + t];
        }
#pragma omp simd
        for (long c = 0; c < di; c++) { /* softplus' slope is the sigmoid, 1 past torch's threshold */
            d_dt_raw_t[c] *= dt_raw_t[c] > (REAL)20 ? (REAL)1 : NAME(sigmoid)(dt_raw_t[c]);
        }
        memcpy(dx_dbl + t * E + R, dB + t * N, sizeof(REAL) * N);
        memcpy(dx_dbl + t * E + R + N, dC + t * N, sizeof(REAL) * N);
    }
    NAME(project_back_rows)(p[P_DT_W], d_dt_raw, di, L, di, R, dx_dbl, E);
    NAME(project_back_rows)(p[P_X_W], dx_dbl, E, L, E, di, dxs, di);
    for (long t = 0; t < L; t++) {
#pragma omp simd
        for (long c = 0; c < di; c++) dxs[t * di + c] *= NAME(silu_slope)(xc[t * di + c]);
    }
    NAME(add_outer_rows)(g_dt_w, g_dt_b, d_dt_raw, di, x_dbl, E, L, di, R);
    NAME(add_outer_rows)(g_x_w, NULL, dx_dbl, E, xs, di, L, E, di);
    /* Back through the causal conv (dxs now holds dL/dxc) into x, and through in_proj. */
    for (long t = 0; t < L; t++) {
        for (long c = 0; c < di; c++) {
            const REAL grad = dxs[t * di + c];
            if (g_conv_b) g_conv_b[c] += grad;
            for (long k = 0, s = t - K + 1; k < K; k++, s++) {
                if (s < 0) continue;
                g_conv_w[c * K + k] += grad * xz[s * 2 * di + c];
                dxz[s * 2 * di + c] += grad * p[P_CONV_W][c * K + k];
            }
        }
    }
    NAME(add_outer_rows)(g_in_w, g_in_b, dxz, 2 * di, hidden, dm, L, 2 * di, dm);
    memset(dhidden, 0, sizeof(REAL) * (size_t)(L * dm));
    NAME(project_back_rows)(p[P_IN_W], dxz, 2 * di, L, 2 * di, dm, dhidden, dm);
    free(scratch);
}

/* Work item k takes rows k, k + threads, ... and adds into its own gradient rows: no atomics. */
static void NAME(mamba_backward_item)(const void *opaque, long item) {
    const struct NAME(mamba_args) *a = opaque;
    const long row = a->length * a->d_model;
    for (long b = item; b < a->batch; b += a->threads) {
        WITH_CONSTANT_D_STATE(NAME(mamba_backward_row), a, a->dout + b * row, a->hidden + b * row,
                              a->workspace + b * a->layout.size, a->dhidden + b * row, item);
    }
}

/* A = -exp(A_log), formed once per call; freed by mamba_release. */
static REAL *NAME(decay_rates)(const REAL *A_log, long count) {
    REAL *A = malloc(sizeof(REAL) * (size_t)count);
    if (A == NULL) abort();
    for (long i = 0; i < count; i++) A[i] = -EXP(A_log[i]);
    return A;
}

/* A block's arguments for one call: its sizes, parameters and decay rates, and for the forward
 * (`forward` true) its projections transposed. Rows, gradients and workspace are the caller's to set. */
static struct NAME(mamba_args) NAME(mamba_prepare)(const REAL *const *params, long batch, long length,
                                                   long d_model, long d_inner, long d_conv, long dt_rank,
                                                   long d_state, long threads, int forward) {
    REAL *A = NAME(decay_rates)(params[P_A_LOG], d_inner * d_state);
    struct NAME(mamba_args) a = {
        .batch = batch, .length = length, .d_model = d_model, .d_inner = d_inner, .d_conv = d_conv,
        .dt_rank = dt_rank, .d_state = d_state, .threads = threads, .params = params, .A = A,
        .A2 = NAME(base2_rates)(A, d_inner * d_state),
        .layout = mamba_workspace_layout(length, d_inner, dt_rank, d_state)};
    if (forward) {
        a.in_wT = NAME(transposed)(params[P_IN_W], 2 * d_inner, d_model);
        a.x_wT = NAME(transposed)(params[P_X_W], dt_rank + 2 * d_state, d_inner);
        a.dt_wT = NAME(transposed)(params[P_DT_W], d_inner, dt_rank);
        a.out_wT = NAME(transposed)(params[P_OUT_W], d_model, d_inner);
    }
    return a;
}

static void NAME(mamba_release)(struct NAME(mamba_args) *a) {
    free((REAL *)a->A), free((REAL *)a->A2), free(a->in_wT), free(a->x_wT), free(a->dt_wT), free(a->out_wT);
}

/* grad's `threads` rows of `size`, `stride` elements apart, summed into row 0. */
static void NAME(sum_thread_rows)(REAL *grad, long size, long threads, long stride) {
    for (long k = 1; k < threads; k++) {
#pragma omp simd
        for (long i = 0; i < size; i++) grad[i] += grad[k * stride + i];
    }
}

/* Each of the block's gradients, its thread rows summed into row 0. */
static void NAME(sum_block_gradients)(const struct NAME(mamba_args) *a) {
    for (int p = 0; p < P_COUNT; p++) {
        if (a->grads[p] == NULL) continue;
        const long size = mamba_param_size(p, a->d_model, a->d_inner, a->d_conv, a->dt_rank, a->d_state);
        NAME(sum_thread_rows)(a->grads[p], size, a->threads, a->grad_stride);
    }
}

void NAME(mamba_forward)(const REAL *hidden, const REAL *const *params, long batch, long length,
                         long d_model, long d_inner, long d_conv, long dt_rank, long d_state,
                         REAL *workspace, REAL *out, int threads) {
    struct NAME(mamba_args) a = NAME(mamba_prepare)(params, batch, length, d_model, d_inner, d_conv,
                                                    dt_rank, d_state, threads, 1);
    a.hidden = hidden, a.workspace = workspace, a.out = out;
    parallel_for(batch, threads, NAME(mamba_forward_item), &a);
    NAME(mamba_release)(&a);
}

void NAME(mamba_backward)(const REAL *dout, const REAL *hidden, const REAL *const *params,
                          const REAL *workspace, long batch, long length, long d_model, long d_inner,
                          long d_conv, long dt_rank, long d_state, REAL *dhidden, REAL *const *grads,
                          long grad_stride, int threads) {
    threads = backward_threads(threads, batch);
    struct NAME(mamba_args) a = NAME(mamba_prepare)(params, batch, length, d_model, d_inner, d_conv,
                                                    dt_rank, d_state, threads, 0);
    a.dout = dout, a.hidden = hidden, a.workspace = (REAL *)workspace, a.dhidden = dhidden, a.grads = grads;
    a.grad_stride = grad_stride;
    parallel_for(threads, threads, NAME(mamba_backward_item), &a);
    NAME(sum_block_gradients)(&a);
    NAME(mamba_release)(&a);
}
