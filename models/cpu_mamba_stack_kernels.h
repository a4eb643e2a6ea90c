/* A residual stack of pre-norm Mamba blocks, x <- x + Mamba_k(LayerNorm_k(x)) for k = 0 .. blocks - 1
 * (CryptoMamba's CMBlocks of one C-Block), forward and backward for training, for one precision;
 * included by cpu_scan.c after cpu_mamba_kernels.h, whose block rows it runs.
 *
 * Why a whole stack in one call: with one call per Mamba block, CryptoMamba's step still made 12 calls
 * each way plus 24 LayerNorm and residual operations, and their fixed costs in Python and autograd
 * (about 0.2 ms per block, forward and backward) were a fifth of a step. A batch row goes through every
 * block of the stack independently of the other rows, so one work item per row runs all of them.
 *
 * Parameters come per block as STACK_PARAMS pointers: the norm's weight and bias (d_model each), then
 * the Mamba block's P_COUNT (cpu_scan.c); gradients likewise, each `threads` rows grad_stride apart,
 * zeroed by the caller (as in cpu_mamba_kernels.h). Each batch row's workspace is `blocks` slices laid
 * out by stack_workspace_layout.
 */

struct NAME(stack_args) {
    long blocks, batch, length, d_model, d_state, threads, grad_stride;
    REAL eps;
    struct stack_workspace layout; /* one block's slice of a row's workspace */
    struct NAME(mamba_args) *block; /* per block: its Mamba's parameters, rates and gradients */
    const REAL *const *params;
    REAL *const *grads;
    const REAL *hidden, *dout;
    REAL *workspace, *out, *dhidden;
};

/* LayerNorm of one position's n values, as torch's (biased variance): x_hat = (x - mean) / std and
 * out = x_hat * weight + bias; returns 1 / std. */
static inline REAL NAME(layer_norm)(const REAL *restrict x, const REAL *restrict weight,
                                    const REAL *restrict bias, long n, REAL eps, REAL *restrict x_hat,
                                    REAL *restrict out) {
    REAL mean = 0, variance = 0;
#pragma omp simd reduction(+ : mean)
    for (long i = 0; i < n; i++) mean += x[i];
    mean /= (REAL)n;
#pragma omp simd reduction(+ : variance)
    for (long i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
    const REAL rstd = (REAL)1 / (REAL)sqrt((double)(variance / (REAL)n + eps));
#pragma omp simd
    for (long i = 0; i < n; i++) {
        x_hat[i] = (x[i] - mean) * rstd;
        out[i] = x_hat[i] * weight[i] + bias[i];
    }
    return rstd;
}

/* Back through `layer_norm` at one position: dx += d(out)/dx^T dout, and the weight's and bias'
 * gradients added into g_weight and g_bias. */
static inline void NAME(layer_norm_back)(const REAL *restrict dout, const REAL *restrict x_hat,
                                         const REAL *restrict weight, REAL rstd, long n,
                                         REAL *restrict g_weight, REAL *restrict g_bias, REAL *restrict dx) {
    REAL sum = 0, sum_x_hat = 0; /* of dL/dx_hat, and of dL/dx_hat * x_hat */
#pragma omp simd reduction(+ : sum, sum_x_hat)
    for (long i = 0; i < n; i++) {
        const REAL grad = dout[i] * weight[i];
        sum += grad;
        sum_x_hat += grad * x_hat[i];
        g_weight[i] += dout[i] * x_hat[i];
        g_bias[i] += dout[i];
    }
    const REAL mean = sum / (REAL)n, mean_x_hat = sum_x_hat / (REAL)n;
#pragma omp simd
    for (long i = 0; i < n; i++) dx[i] += rstd * (dout[i] * weight[i] - mean - x_hat[i] * mean_x_hat);
}

static inline void NAME(stack_forward_row)(const struct NAME(stack_args) *s, long b, const long N) {
    const long L = s->length, dm = s->d_model, row = L * dm;
    const struct stack_workspace *o = &s->layout;
    REAL *buffer = malloc(sizeof(REAL) * (size_t)(2 * row)); /* the residual stream, a block's output */
    if (buffer == NULL) abort();
    REAL *x = buffer, *delta = buffer + row;
    memcpy(x, s->hidden + b * row, sizeof(REAL) * (size_t)row);
    for (long k = 0; k < s->blocks; k++) {
        const REAL *const *norm = s->params + k * STACK_PARAMS;
        REAL *w = s->workspace + (b * s->blocks + k) * o->size;
        REAL *x_hat = w + o->x_hat, *normed = w + o->normed, *rstd = w + o->rstd;
        for (long t = 0; t < L; t++) {
            rstd[t] = NAME(layer_norm)(x + t * dm, norm[S_NORM_W], norm[S_NORM_B], dm, s->eps, x_hat + t * dm,
                                       normed + t * dm);
        }
        NAME(mamba_forward_row)(&s->block[k], normed, w + o->block, delta, N);
#pragma omp simd
        for (long i = 0; i < row; i++) x[i] += delta[i];
    }
    memcpy(s->out + b * row, x, sizeof(REAL) * (size_t)row);
    free(buffer);
}

static void NAME(stack_forward_item)(const void *opaque, long b) {
    const struct NAME(stack_args) *s = opaque;
    WITH_CONSTANT_D_STATE(NAME(stack_forward_row), s, b);
}

/* Backwards through the blocks: each adds its branch's gradient to the residual stream's. */
static inline void NAME(stack_backward_row)(const struct NAME(stack_args) *s, long b, long thread,
                                            const long N) {
    const long L = s->length, dm = s->d_model, row = L * dm;
    const struct stack_workspace *o = &s->layout;
    REAL *buffer = malloc(sizeof(REAL) * (size_t)(2 * row)); /* dL/dx of the stream, dL/d(normed) */
    if (buffer == NULL) abort();
    REAL *dx = buffer, *dnormed = buffer + row;
    memcpy(dx, s->dout + b * row, sizeof(REAL) * (size_t)row);
    for (long k = s->blocks - 1; k >= 0; k--) {
        const REAL *const *norm = s->params + k * STACK_PARAMS;
        REAL *const *grads = s->grads + k * STACK_PARAMS;
        REAL *g_weight = grads[S_NORM_W] + thread * s->grad_stride;
        REAL *g_bias = grads[S_NORM_B] + thread * s->grad_stride;
        REAL *w = s->workspace + (b * s->blocks + k) * o->size;
        const REAL *x_hat = w + o->x_hat, *rstd = w + o->rstd;
        NAME(mamba_backward_row)(&s->block[k], dx, w + o->normed, w + o->block, dnormed, thread, N);
        for (long t = 0; t < L; t++) {
            NAME(layer_norm_back)(dnormed + t * dm, x_hat + t * dm, norm[S_NORM_W], rstd[t], dm, g_weight,
                                  g_bias, dx + t * dm);
        }
    }
    memcpy(s->dhidden + b * row, dx, sizeof(REAL) * (size_t)row);
    free(buffer);
}

/* Work item k takes rows k, k + threads, ... and adds into its own gradient rows, as mamba_backward. */
static void NAME(stack_backward_item)(const void *opaque, long item) {
    const struct NAME(stack_args) *s = opaque;
    for (long b = item; b < s->batch; b += s->threads) {
        WITH_CONSTANT_D_STATE(NAME(stack_backward_row), s, b, item);
    }
}

/* The stack's arguments for one call, with every block's Mamba prepared; freed by stack_release. */
static struct NAME(stack_args) NAME(stack_prepare)(const REAL *const *params, long blocks, long batch,
                                                   long length, long d_model, long d_inner, long d_conv,
                                                   long dt_rank, long d_state, long threads, int forward) {
    struct NAME(stack_args) s = {
        .blocks = blocks, .batch = batch, .length = length, .d_model = d_model, .d_state = d_state,
        .threads = threads,
        .params = params, .layout = stack_workspace_layout(length, d_model, d_inner, dt_rank, d_state),
        .block = malloc(sizeof(struct NAME(mamba_args)) * (size_t)blocks)};
    if (s.block == NULL) abort();
    for (long k = 0; k < blocks; k++) {
        s.block[k] = NAME(mamba_prepare)(params + k * STACK_PARAMS + S_MAMBA, batch, length, d_model, d_inner,
                                         d_conv, dt_rank, d_state, threads, forward);
    }
    return s;
}

static void NAME(stack_release)(struct NAME(stack_args) *s) {
    for (long k = 0; k < s->blocks; k++) NAME(mamba_release)(&s->block[k]);
    free(s->block);
}

void NAME(mamba_stack_forward)(const REAL *hidden, const REAL *const *params, long blocks, long batch,
                               long length, long d_model, long d_inner, long d_conv, long dt_rank,
                               long d_state, double eps, REAL *workspace, REAL *out, int threads) {
    struct NAME(stack_args) s = NAME(stack_prepare)(params, blocks, batch, length, d_model, d_inner, d_conv,
                                                    dt_rank, d_state, threads, 1);
    s.eps = (REAL)eps, s.hidden = hidden, s.workspace = workspace, s.out = out;
    parallel_for(batch, threads, NAME(stack_forward_item), &s);
    NAME(stack_release)(&s);
}

void NAME(mamba_stack_backward)(const REAL *dout, const REAL *const *params, const REAL *workspace,
                                long blocks, long batch, long length, long d_model, long d_inner,
                                long d_conv, long dt_rank, long d_state, REAL *dhidden, REAL *const *grads,
                                long grad_stride, int threads) {
    threads = backward_threads(threads, batch);
    struct NAME(stack_args) s = NAME(stack_prepare)(params, blocks, batch, length, d_model, d_inner, d_conv,
                                                    dt_rank, d_state, threads, 0);
    s.grads = grads, s.grad_stride = grad_stride, s.dout = dout, s.workspace = (REAL *)workspace;
    s.dhidden = dhidden;
    for (long k = 0; k < blocks; k++) {
        s.block[k].grads = grads + k * STACK_PARAMS + S_MAMBA, s.block[k].grad_stride = grad_stride;
    }
    parallel_for(threads, threads, NAME(stack_backward_item), &s);
    for (long k = 0; k < blocks; k++) {
        NAME(sum_block_gradients)(&s.block[k]);
        NAME(sum_thread_rows)(grads[k * STACK_PARAMS + S_NORM_W], d_model, threads, grad_stride);
        NAME(sum_thread_rows)(grads[k * STACK_PARAMS + S_NORM_B], d_model, threads, grad_stride);
    }
    NAME(stack_release)(&s);
}
