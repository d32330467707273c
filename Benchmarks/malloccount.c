/*
 * LD_PRELOAD allocation counter for scripts/bench-allocations.sh.
 *
 * Counts calls to malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign in the whole
 * process. On SIGUSR1 it appends the running total to the file named by MALLOCCOUNT_FILE (one number
 * per line), so a benchmark can read the count before and after a burst of traffic.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong count;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

/* dlsym itself may call calloc before real_calloc is known: serve it from a static arena. */
static char bootstrap[4096];
static size_t bootstrap_used;

static void *bootstrap_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (bootstrap_used + n > sizeof bootstrap) return NULL;
    void *p = bootstrap + bootstrap_used;
    bootstrap_used += n;
    return p;
}

static void report(int sig) {
    (void)sig;
    const char *path = getenv("MALLOCCOUNT_FILE");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    char buf[32];
    unsigned long v = atomic_load(&count);
    int i = sizeof buf - 1;
    buf[i--] = '\n';
    do { buf[i--] = (char)('0' + v % 10); v /= 10; } while (v && i >= 0);
    (void)write(fd, buf + i + 1, sizeof buf - 1 - i);
    close(fd);
}

__attribute__((constructor)) static void init(void) {
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}

void *malloc(size_t n) {
    atomic_fetch_add(&count, 1);
    if (!real_malloc) return bootstrap_alloc(n);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    atomic_fetch_add(&count, 1);
    if (!real_calloc) {
        void *p = bootstrap_alloc(a * b);
        if (p) memset(p, 0, a * b);
        return p;
    }
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    atomic_fetch_add(&count, 1);
    return real_realloc(p, n);
}

int posix_memalign(void **out, size_t alignment, size_t n) {
    atomic_fetch_add(&count, 1);
    return real_posix_memalign(out, alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n) {
    atomic_fetch_add(&count, 1);
    return real_aligned_alloc(alignment, n);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
