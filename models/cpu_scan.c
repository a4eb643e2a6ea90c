/* The selective scan's CPU kernels: forward, backward (a reverse scan over chunk checkpoints) and one
 * streaming step, in float32 and float64; a whole Mamba block's training forward and backward; and a
 * residual stack of pre-norm blocks (CryptoMamba's C-Block) as one call each way.
 * Built and loaded by models/cpu_scan_library.py; models/selective_scan.py documents the shapes.
 *
 * Per (batch row b, channel d) the recurrence is h_t = exp(dt_t * A_d) * h_{t-1} + dt_t * u_t * B_t and
 * y_t = <C_t, h_t>. Everything runs in the input precision, as in mamba-ssm's CUDA kernel, including the
 * sums over d_state, channels and time (float32 keeps about 1e-6 relative there, far below what training
 * notices; float64 is for checking against the reference).
 *
 * Why C and not a numba or torch loop: the decays exp(dt_t * A) are most of the arithmetic, and
 * neither numba (no vector exp without Intel's SVML) nor a separate torch pass (three extra sweeps
 * over memory) computes them where they are used. Here `decay` is a branch-free 2^x that the compiler
 * vectorises inside the d_state loop, so the scan makes one pass over its inputs. Calls split their
 * work items over a pool of helper threads (cpu_thread_pool.h).
 *
 * Decays below sqrt(tiny) of the precision are flushed to 0: multiplied by another small factor they
 * give subnormal numbers, which x86 computes 10-100x slower. Such a decay scales the previous state
 * below the precision of any normal term, so nothing is lost.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 64       /* steps between state checkpoints; must equal cpu_scan.CHECKPOINT_EVERY */

long scan_chunk(void) { return CHUNK; }

#include "cpu_thread_pool.h"

/* ------------------------------------------------------------------------------- branch-free exp
 * exp(x) = 2^k * exp(r), k = round(x / ln 2), |r| <= ln 2 / 2, 2^k built from its exponent bits. x is
 * clamped to [floor, ceiling], where 2^k stays a normal number. */

/* c[0] r^(n-1) + ... + c[n-1] by Horner's rule; with constant coefficients it unrolls in place. */
static inline float polynomial_f32(float r, const float *c, int n) {
    float p = c[0];
    for (int i = 1; i < n; i++) p = p * r + c[i];
    return p;
}

static inline double polynomial_f64(double r, const double *c, int n) {
    double p = c[0];
    for (int i = 1; i < n; i++) p = p * r + c[i];
    return p;
}

static inline float exp_f32(float x) {
    x = x < -43.6682f ? -43.6682f : x; /* 0.5 * log(FLT_MIN) */
    x = x > 88.0f ? 88.0f : x;
    float k = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - k * 0.693359375f;    /* ln 2 in two parts (Cephes): the high part is exact in float */
    r = r + k * 2.12194440e-4f;
    /* Cephes' expf polynomial: 1 + r + r^2 P(r), relative error about 1e-7 */
    static const float P[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                              4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
    const float p = polynomial_f32(r, P, sizeof(P) / sizeof(P[0])) * r * r + r + 1.0f;
    union { int32_t i; float f; } scale = {.i = ((int32_t)k + 127) << 23};
    return p * scale.f;
}

static inline double exp_f64(double x) {
    x = x < -354.0 ? -354.0 : x; /* 0.5 * log(DBL_MIN) is -354.04 */
    x = x > 709.0 ? 709.0 : x;
    double k = __builtin_rint(x * 1.44269504088896340736);
    double r = x - k * 6.93147180369123816490e-01; /* fdlibm's ln 2 high and low parts */
    r = r - k * 1.90821492927058770002e-10;
    /* Taylor to r^13 / 13!: the next term is below 1e-17 relative for |r| <= ln 2 / 2 */
    static const double TAYLOR[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                    1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                                    1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
    const double p = polynomial_f64(r, TAYLOR, sizeof(TAYLOR) / sizeof(TAYLOR[0]));
    union { int64_t i; double f; } scale = {.i = ((int64_t)k + 1023) << 52};
    return p * scale.f;
}

/* ---------------------------------------------------------------------------- the decays' 2^x
 * The decays exp(dt * A) are most of the scan's arithmetic, so the kernels compute them as mamba-ssm's
 * CUDA kernel does: log2(e) is folded into A once per call, and each decay is 2^(dt * A log2(e)). That
 * leaves no ln 2 reduction: 2^x = 2^k * 2^r, k = round(x), r = x - k exact, and 2^k added to the
 * exponent bits of 2^r. The forward pass ran about a quarter faster than with exp_f32. */

#define LOG2E_F32 1.44269504088896341f
#define LOG2E_F64 1.44269504088896340736

/* In Mamba the exponent is at most 0 (A < 0, dt >= 0). Exponents below the flush threshold, and NaN,
 * never get here (see `decay`), so there is no lower clamp. Above, 2^k is clamped to 2^127 in integer
 * arithmetic, one instruction: past 2^127 the state has left the float range, and 2^127 stands in, as
 * exp_f32's clamp does. That holds up to 2^31 only, where the conversion to int overflows (+inf gives
 * NaN): such exponents need A > 0, outside Mamba. A float clamp that covers them too made the scan's
 * loops 5-10 % slower (GCC merges it into the flush test's masks as a compare and a blend). */
static inline float exp2_f32(float x) {
    const float k = __builtin_rintf(x), r = x - k;
    /* 2^r on |r| <= 1/2: a degree-6 polynomial fitted to the relative error, under 1e-7 in float */
    static const float P[] = {1.5345807500e-4f, 1.3399931183e-3f, 9.6184889739e-3f, 5.5503287771e-2f,
                              2.4022646890e-1f, 6.9314720574e-1f, 1.0000000006e+0f};
    const float p = polynomial_f32(r, P, sizeof(P) / sizeof(P[0]));
    int32_t power = (int32_t)k;
    power = power > 127 ? 127 : power;
    union { int32_t i; float f; } bits = {.f = p};
    bits.i += power << 23;
    return bits.f;
}

/* float64 is for checking against the reference: exp_f64's accuracy matters there, not its speed. */
static inline double exp2_f64(double x) { return exp_f64(x * 6.93147180559945309417e-01); }

/* Flush thresholds, as exponents of 2: decays below 2^-63 (float) or 2^-510 (double), about the square
 * roots of the smallest normal numbers, are flushed to 0 (exp_f64's clamp lies just below 2^-510). */
#define FLUSH_EXPONENT_F32 -63.0f
#define FLUSH_EXPONENT_F64 -510.0

/* fn(s, item, N) with d_state as a compile-time constant for the common sizes: the loops over it then
 * unroll and the state stays in registers (the backward ran 1.6-2x faster). */
#define WITH_CONSTANT_D_STATE(fn, s, ...)             \
    switch ((s)->d_state) {                           \
    case 16: fn(s, __VA_ARGS__, 16); break;           \
    case 32: fn(s, __VA_ARGS__, 32); break;           \
    case 64: fn(s, __VA_ARGS__, 64); break;           \
    default: fn(s, __VA_ARGS__, (s)->d_state); break; \
    }

/* fn(..., k0, width) over the columns [0, cols) in tiles of 64, 16, 8, 4, 2 and 1: each width is a
 * compile-time constant once fn is inlined, so a tile's partial sums live in registers (64 floats are
 * four AVX-512 registers) and a tail of any size costs a few narrow passes, not a loop through memory. */
#define FOR_COLUMN_TILES(cols, fn, ...)                                            \
    do {                                                                           \
        long k0_ = 0;                                                              \
        for (; k0_ + 64 <= (cols); k0_ += 64) fn(__VA_ARGS__, k0_, 64);            \
        for (; k0_ + 16 <= (cols); k0_ += 16) fn(__VA_ARGS__, k0_, 16);            \
        if (k0_ + 8 <= (cols)) fn(__VA_ARGS__, k0_, 8), k0_ += 8;                  \
        if (k0_ + 4 <= (cols)) fn(__VA_ARGS__, k0_, 4), k0_ += 4;                  \
        if (k0_ + 2 <= (cols)) fn(__VA_ARGS__, k0_, 2), k0_ += 2;                  \
        if (k0_ < (cols)) fn(__VA_ARGS__, k0_, 1);                                 \
    } while (0)

/* ------------------------------------------------------------------- a whole Mamba block (shared)
 * The parameters of cpu_mamba_kernels.h's block, in the order of models/cpu_mamba.py's PARAMETERS. */
enum { P_IN_W, P_IN_B, P_CONV_W, P_CONV_B, P_X_W, P_DT_W, P_DT_B, P_A_LOG, P_D, P_OUT_W, P_OUT_B, P_COUNT };
/* A residual stack's parameters per block (cpu_mamba_stack_kernels.h): its norm's, then its Mamba's. */
enum { S_NORM_W, S_NORM_B, S_MAMBA, STACK_PARAMS = S_MAMBA + P_COUNT };

static long mamba_param_size(int p, long d_model, long d_inner, long d_conv, long dt_rank, long d_state) {
    switch (p) {
    case P_IN_W: return 2 * d_inner * d_model;
    case P_IN_B: return 2 * d_inner;
    case P_CONV_W: return d_inner * d_conv;
    case P_X_W: return (dt_rank + 2 * d_state) * d_inner;
    case P_DT_W: return d_inner * dt_rank;
    case P_A_LOG: return d_inner * d_state;
    case P_OUT_W: return d_model * d_inner;
    case P_OUT_B: return d_model;
    default: return d_inner; /* P_CONV_B, P_DT_B, P_D */
    }
}

/* Offsets (in elements) of a batch row's intermediates in the block's workspace; see
 * cpu_mamba_kernels.h for their shapes. */
struct mamba_workspace {
    long xz, xc, xs, x_dbl, dt_raw, u, dt, bt, ct, y_scan, checkpoints, size;
};

/* n elements rounded up to whole 64-byte lines of floats: every array in a workspace then starts where
 * the workspace's own (64-byte aligned) allocation does, so vector loads never straddle two lines. */
static inline long lines(long n) { return (n + 15) & ~15L; }

static struct mamba_workspace mamba_workspace_layout(long length, long d_inner, long dt_rank, long d_state) {
    const long L = length, chunks = (L + CHUNK - 1) / CHUNK;
    struct mamba_workspace w;
    w.xz = 0;
    w.xc = w.xz + lines(L * 2 * d_inner);
    w.xs = w.xc + lines(L * d_inner);
    w.x_dbl = w.xs + lines(L * d_inner);
    w.dt_raw = w.x_dbl + lines(L * (dt_rank + 2 * d_state));
    w.u = w.dt_raw + lines(L * d_inner);
    w.dt = w.u + lines(d_inner * L);
    w.bt = w.dt + lines(d_inner * L);
    w.ct = w.bt + lines(L * d_state);
    w.y_scan = w.ct + lines(L * d_state);
    w.checkpoints = w.y_scan + lines(d_inner * L);
    w.size = w.checkpoints + lines(d_inner * (chunks - 1) * d_state); /* none before the first chunk */
    return w;
}

/* Elements of workspace one batch row needs. */
long mamba_workspace_size(long length, long d_inner, long dt_rank, long d_state) {
    return mamba_workspace_layout(length, d_inner, dt_rank, d_state).size;
}

/* A residual stack's per-block slice of a batch row's workspace (cpu_mamba_stack_kernels.h): the
 * normalised input x_hat and its affine image `normed` (the Mamba block's input), each (L, d_model),
 * 1 / std per position, then the Mamba block's own workspace. */
struct stack_workspace {
    long x_hat, normed, rstd, block, size;
};

static struct stack_workspace stack_workspace_layout(long length, long d_model, long d_inner, long dt_rank,
                                                     long d_state) {
    struct stack_workspace w;
    w.x_hat = 0;
    w.normed = w.x_hat + lines(length * d_model);
    w.rstd = w.normed + lines(length * d_model);
    w.block = w.rstd + lines(length);
    w.size = w.block + mamba_workspace_size(length, d_inner, dt_rank, d_state);
    return w;
}

/* Elements of workspace one batch row of a `blocks`-deep residual stack needs. */
long mamba_stack_workspace_size(long blocks, long length, long d_model, long d_inner, long dt_rank,
                                long d_state) {
    return blocks * stack_workspace_layout(length, d_model, d_inner, dt_rank, d_state).size;
}

/* A backward's thread count: each thread owns gradient rows and takes whole batch rows, so at least
 * one and no more than there are batch rows. */
static inline int backward_threads(int threads, long batch) {
    if (threads > batch) threads = (int)batch;
    return threads < 1 ? 1 : threads;
}

/* The kernels, once per precision (LIBM_* are libm's scalar functions, for the step's softplus and gate). */
#define REAL float
#define SUFFIX f32
#define EXP exp_f32
#define EXP2 exp2_f32
#define LOG2E LOG2E_F32
#define FLUSH_EXPONENT FLUSH_EXPONENT_F32
#define LOG1P_TERMS 8 /* the next term is below 1e-8 */
#include "cpu_scan_kernels.h"
#include "cpu_mamba_kernels.h"
#include "cpu_mamba_stack_kernels.h"
#undef REAL
#undef SUFFIX
#undef EXP
#undef EXP2
#undef LOG2E
#undef FLUSH_EXPONENT
#undef LOG1P_TERMS

#define REAL double
#define SUFFIX f64
#define EXP exp_f64
#define EXP2 exp2_f64
#define LOG2E LOG2E_F64
#define FLUSH_EXPONENT FLUSH_EXPONENT_F64
#define LOG1P_TERMS 18 /* the next term is below 1e-18 */
#include "cpu_scan_kernels.h"
#include "cpu_mamba_kernels.h"
#include "cpu_mamba_stack_kernels.h"
