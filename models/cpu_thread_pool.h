/* parallel_for on a persistent pool of helper threads, included by cpu_scan.c.
 *
 * Why a pool: a training step of CryptoMamba makes 24 kernel calls of 0.3-2 ms each. Starting and
 * joining a thread costs about 65 us here, and a fresh thread joins the work later still, so per-call
 * threads gave most of the second core's gain back. Helpers that outlive the call pick a job up within
 * microseconds: they spin for a while after each job (the next call usually follows within tens of
 * microseconds) and then sleep on a condition variable, so an idle process burns no CPU.
 *
 * One job runs on the pool at a time; a call that finds the pool busy (another Python thread's kernel)
 * runs its items on the calling thread alone. A forked child starts with no helpers and makes its own.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#define MAX_THREADS 64
#define SPIN_ROUNDS 5000 /* pause-loop rounds (about 0.1 ms) a thread waits before it sleeps or yields */

typedef void (*item_fn)(const void *args, long item);

struct parallel_job {
    item_fn fn;
    const void *args;
    long items;
    long next; /* the next unclaimed item, taken atomically */
};

static void take_items(struct parallel_job *job) {
    long item;
    while ((item = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->items) {
        job->fn(job->args, item);
    }
}

/* The pool. `generation` is a sequence lock over `job` and `wanted`: odd while the caller writes them,
 * then even and new, so a helper reads a job and its helper count from the same publication. */
static struct {
    pthread_mutex_t lock; /* held to sleep on `wake` and to broadcast it */
    pthread_cond_t wake;
    int helpers;          /* started, and alive */
    char busy;            /* a job is running on the pool */
    unsigned long generation;
    struct parallel_job *job; /* valid until helpers 0 .. wanted - 1 have finished it */
    int wanted;
    unsigned long done[MAX_THREADS]; /* per helper: the last generation it finished */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline int is_new(unsigned long generation, unsigned long seen) {
    return generation != seen && generation % 2 == 0;
}

/* Wait for a published generation other than `seen`: spin, then sleep. Returns it. */
static unsigned long await_generation(unsigned long seen) {
    unsigned long now;
    for (int round = 0; round < SPIN_ROUNDS; round++) {
        if (is_new(now = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE), seen)) return now;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.lock);
    while (!is_new(now = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE), seen)) {
        pthread_cond_wait(&pool.wake, &pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return now;
}

static void *helper_main(void *opaque) {
    const int index = (int)(intptr_t)opaque;
    unsigned long seen = __atomic_load_n(&pool.done[index], __ATOMIC_ACQUIRE);
    for (;;) {
        const unsigned long generation = await_generation(seen);
        struct parallel_job *job = __atomic_load_n(&pool.job, __ATOMIC_RELAXED);
        const int wanted = __atomic_load_n(&pool.wanted, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&pool.generation, __ATOMIC_RELAXED) != generation) continue; /* torn: again */
        seen = generation;
        /* A helper that is wanted is waited for, so its job stays alive until it reports done. */
        if (index < wanted) {
            take_items(job);
            __atomic_store_n(&pool.done[index], generation, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

/* After fork() only the forking thread exists: the child forgets the parent's helpers. */
static void forget_helpers(void) {
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.helpers = 0;
    pool.busy = 0;
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_helpers); }

/* Start helpers until there are `count` (fewer if the system refuses); returns how many there are. */
static int ensure_helpers(int count) {
    static pthread_once_t registered = PTHREAD_ONCE_INIT;
    pthread_once(&registered, register_fork_handler);
    while (pool.helpers < count) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        __atomic_store_n(&pool.done[pool.helpers], pool.generation, __ATOMIC_RELEASE);
        const int failed = pthread_create(&thread, &attr, helper_main, (void *)(intptr_t)pool.helpers);
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.helpers++;
    }
    return pool.helpers;
}

/* Run fn(args, i) for i in [0, items) on up to `threads` threads, this one included. Items are claimed
 * one at a time, so a helper that could not be started only means the others take its share. */
static void parallel_for(long items, int threads, item_fn fn, const void *args) {
    struct parallel_job job = {fn, args, items, 0};
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > items) threads = (int)items;
    if (threads <= 1 || __atomic_test_and_set(&pool.busy, __ATOMIC_ACQUIRE)) {
        take_items(&job);
        return;
    }
    const int available = ensure_helpers(threads - 1);
    const int helpers = available < threads - 1 ? available : threads - 1;
    /* Publish: odd generation, the job, then the next even generation. */
    __atomic_store_n(&pool.generation, pool.generation + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&pool.job, &job, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.wanted, helpers, __ATOMIC_RELAXED);
    const unsigned long generation = pool.generation + 1;
    pthread_mutex_lock(&pool.lock);
    __atomic_store_n(&pool.generation, generation, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    take_items(&job);
    for (int i = 0, round = 0; i < helpers; i++) { /* yield once a helper is late: it may wait for a core */
        while (__atomic_load_n(&pool.done[i], __ATOMIC_ACQUIRE) != generation) {
            if (++round < SPIN_ROUNDS) cpu_relax();
            else sched_yield();
        }
    }
    __atomic_clear(&pool.busy, __ATOMIC_RELEASE);
}
