/*
 * Load client for bench:stream: N Server-Sent Events clients in one thread
 * (epoll, non-blocking sockets), measuring how late each event arrives.
 *
 * usage: sse-load-client HOST PORT CLIENTS SECONDS [WARMUP_S] [PERIOD_MS] [PATH]
 *   defaults: WARMUP_S 2, PERIOD_MS 100 (the expected gap between events), PATH /api/stream
 *
 * Every client sends "GET PATH HTTP/1.1" and reads everything. The stream is
 * split into events on "\n\n" (HTTP chunk framing, if any, sits between
 * events and is ignored). In each event, the first `"t":<digits>` is the
 * publish time (epoch ms); latency = CLOCK_REALTIME at the read that
 * completed the event − t. The first event with a time (the snapshot), and
 * any event named "snapshot", are not measured.
 *
 * Connections are opened at most 64 at a time (the next when one has its
 * snapshot), so the server's accept backlog never overflows. Once every
 * client has its snapshot: WARMUP_S seconds not measured, then SECONDS
 * measured. Prints "measuring" when the measured window opens (so an
 * orchestrator can sample the server), then one JSON line:
 *   {clients, events, bytes, p50_ms, p99_ms, max_ms, ...}
 * with what went missing: `missed`, events skipped (from gaps in the event
 * ids: the digits after the last '.' of "id:"; every event with an id is
 * followed, measured or not), `resyncs`, snapshots after
 * the first (a server that skipped deltas for a slow client), `closed`,
 * streams that ended; and `short_clients`, clients that got fewer than 90% of
 * the expected events in the window (late or missing).
 *
 * The client never runs longer than 60 s + WARMUP_S + SECONDS + 30 s (SIGALRM).
 *
 * Only the first 1 KiB of each event is kept (the time is at its start), so
 * the bytes are scanned with memchr and never copied.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD 1024
#define RBUF (1 << 20)
#define MAX_PENDING 64

struct conn {
    int fd;
    int connected; /* request sent */
    int checked;   /* status line seen */
    int ready;     /* first snapshot received */
    int closed;
    int prev_nl;   /* the last byte read was '\n' */
    int head_len;
    long events;   /* measured events */
    long resyncs;  /* snapshots after the first */
    long missed;   /* events skipped, from gaps in the ids (measured window) */
    long long last_seq;
    char head[HEAD + 1];
};

static struct conn *conns;
static int nconns, opened, ready_count, pending;
static int measuring; /* 0 before, 1 during, 2 after */
static long long bytes_measured;
static double *lat;
static size_t nlat, caplat;
static long closed_measuring, closed_total;
static struct sockaddr_in addr;
static char request[512];
static int request_len;
static int ep;

static double mono_s(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double real_ms(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static double cpu_s(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y;
}
/* Nearest rank: the smallest sample with at least p of the samples at or below it. */
static size_t pct_index(double p) {
    size_t k = (size_t)(p * nlat);
    if ((double)k < p * nlat) k++;
    return k > 0 ? k - 1 : 0;
}
static void die(const char *what) { perror(what); exit(2); }

static void record(double ms) {
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 16;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat) die("realloc");
    }
    lat[nlat++] = ms;
}

static void open_one(void) {
    int i = opened++;
    struct conn *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) die("connect");
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (unsigned)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    pending++;
}

static void close_conn(struct conn *c) {
    if (c->closed) return;
    c->closed = 1;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    closed_total++;
    if (measuring == 1) closed_measuring++;
    if (!c->ready) pending--;
}

static void append_head(struct conn *c, const char *p, size_t n) {
    size_t room = HEAD - c->head_len;
    if (n > room) n = room;
    memcpy(c->head + c->head_len, p, n);
    c->head_len += n;
}

/* The sequence number of an event: the digits after the last '.' of its id (Planta: "epoch.seq"), or -1. */
static long long event_seq(const char *head, int len) {
    const char *data = memmem(head, len, "data: ", 6);
    const char *id = memmem(head, data ? data - head : len, "id: ", 4);
    if (!id) return -1;
    const char *p = id + 4, *digits = p;
    for (; *p && *p != '\n' && *p != '\r'; p++)
        if (*p == '.') digits = p + 1;
    long long seq = 0;
    for (p = digits; *p >= '0' && *p <= '9'; p++) seq = seq * 10 + (*p - '0');
    return p > digits ? seq : -1;
}

static void event_end(struct conn *c, double now) {
    c->head[c->head_len] = 0;
    int len = c->head_len;
    c->head_len = 0;
    int snapshot = strstr(c->head, "event: snapshot") != NULL;
    const char *t = memmem(c->head, len, "\"t\":", 4);
    long long seq = event_seq(c->head, len);
    /* An event with an id and no time (Planta's device statuses, alarms): not measured, but its id is followed, so a gap is only events never sent. */
    if (!snapshot && !t && seq >= 0 && c->ready) {
        if (c->last_seq >= 0 && seq - c->last_seq - 1 > 0 && measuring == 1) c->missed += seq - c->last_seq - 1;
        c->last_seq = seq;
        return;
    }
    if (!snapshot && !t) return; /* HTTP head, retry:, comments */
    if (!c->ready) {
        c->ready = 1;
        ready_count++;
        pending--;
        c->last_seq = seq;
        return;
    }
    /* A snapshot after the first stands for the deltas up to its id; a jump in the ids is deltas never sent. */
    if (seq >= 0 && c->last_seq >= 0) {
        long long gap = seq - c->last_seq - (snapshot ? 0 : 1);
        if (gap > 0 && measuring == 1) c->missed += gap;
    }
    if (seq >= 0) c->last_seq = seq;
    if (snapshot) {
        if (measuring == 1) c->resyncs++;
        return;
    }
    if (measuring != 1) return;
    double ms = 0;
    int digits = 0;
    for (t += 4; *t >= '0' && *t <= '9'; t++, digits++) ms = ms * 10 + (*t - '0');
    if (!digits) return;
    record(now - ms);
    c->events++;
}

/* Splits the bytes on "\n\n"; keeps the start of each event in c->head. */
static void feed(struct conn *c, const char *p, size_t n, double now) {
    const char *end = p + n, *s = p, *q = p;
    if (c->prev_nl && p[0] == '\n') {
        event_end(c, now);
        s = q = p + 1;
    }
    c->prev_nl = 0;
    while (q < end) {
        const char *nl = memchr(q, '\n', end - q);
        if (!nl) break;
        if (nl + 1 == end) {
            c->prev_nl = 1;
            break;
        }
        if (nl[1] == '\n') {
            append_head(c, s, nl - s);
            event_end(c, now);
            s = q = nl + 2;
        } else {
            q = nl + 1;
        }
    }
    if (s < end) append_head(c, s, end - s);
}

static char rbuf[RBUF];

static void on_event(struct conn *c, unsigned events) {
    if (c->closed) return;
    if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            fprintf(stderr, "connect: %s\n", strerror(err));
            exit(2);
        }
        if (write(c->fd, request, request_len) != request_len) die("write request");
        c->connected = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)(c - conns)};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    for (int k = 0; k < 8; k++) {
        ssize_t n = read(c->fd, rbuf, sizeof rbuf);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            close_conn(c);
            return;
        }
        if (n == 0) {
            close_conn(c);
            return;
        }
        double now = real_ms();
        if (!c->checked) {
            c->checked = 1;
            if (n < 12 || memcmp(rbuf, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "unexpected answer: %.*s\n", (int)(n < 200 ? n : 200), rbuf);
                exit(2);
            }
        }
        if (measuring == 1) bytes_measured += n;
        feed(c, rbuf, (size_t)n, now);
        if ((size_t)n < sizeof rbuf) return;
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT CLIENTS SECONDS [WARMUP_S] [PERIOD_MS] [PATH]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    nconns = atoi(argv[3]);
    double seconds = atof(argv[4]);
    double warmup = argc > 5 ? atof(argv[5]) : 2;
    double period_ms = argc > 6 ? atof(argv[6]) : 100;
    const char *path = argc > 7 ? argv[7] : "/api/stream";
    if (nconns <= 0 || seconds <= 0 || period_ms <= 0) {
        fprintf(stderr, "CLIENTS, SECONDS and PERIOD_MS must be positive\n");
        return 2;
    }

    alarm((unsigned)(60 + warmup + seconds + 30));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "HOST must be an IPv4 address: %s\n", host);
        return 2;
    }
    request_len = snprintf(request, sizeof request,
                           "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
                           path, host, port);
    conns = calloc(nconns, sizeof *conns);
    if (!conns) die("calloc");
    ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");

    struct epoll_event evs[256];
    double t0 = mono_s(), t_start = 0, t_end = 0, cpu0 = 0;
    for (;;) {
        while (opened < nconns && pending < MAX_PENDING) open_one();
        double now = mono_s();
        if (measuring == 0 && t_start == 0 && ready_count + closed_total >= nconns) {
            if (closed_total > 0) {
                fprintf(stderr, "%ld connections closed before their snapshot\n", closed_total);
                return 2;
            }
            t_start = now + warmup;
            t_end = t_start + seconds;
        }
        if (t_start == 0 && now - t0 > 60) {
            fprintf(stderr, "only %d of %d clients got a snapshot within 60 s\n", ready_count, nconns);
            return 2;
        }
        if (t_start > 0 && measuring == 0 && now >= t_start) {
            measuring = 1;
            cpu0 = cpu_s();
            t_start = now;
            t_end = now + seconds;
            printf("measuring\n");
            fflush(stdout);
        }
        if (measuring == 1 && now >= t_end) break;
        int timeout = 10;
        if (t_start > 0) {
            double next = measuring == 0 ? t_start : t_end;
            int ms = (int)((next - now) * 1000) + 1;
            if (ms < timeout) timeout = ms < 0 ? 0 : ms;
        }
        int n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events);
    }
    double elapsed = mono_s() - t_start;
    double cpu = cpu_s() - cpu0;
    measuring = 2;

    double expected = seconds * 1000.0 / period_ms;
    long events = 0, min_ev = -1, max_ev = 0, short_clients = 0, resyncs = 0, missed = 0;
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        events += c->events;
        resyncs += c->resyncs;
        missed += c->missed;
        if (min_ev < 0 || c->events < min_ev) min_ev = c->events;
        if (c->events > max_ev) max_ev = c->events;
        if (c->events < 0.9 * expected) short_clients++;
    }
    qsort(lat, nlat, sizeof *lat, cmp);
    double sum = 0;
    for (size_t i = 0; i < nlat; i++) sum += lat[i];
#define PCT(p) (nlat ? lat[pct_index(p)] : 0.0)
    printf("{\"clients\":%d,\"seconds\":%.3f,\"events\":%ld,\"events_per_s\":%.1f,\"expected_per_client\":%.0f,"
           "\"min_client_events\":%ld,\"max_client_events\":%ld,\"short_clients\":%ld,\"missed\":%ld,\"resyncs\":%ld,\"closed\":%ld,"
           "\"bytes\":%lld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"min_ms\":%.3f,\"client_cpu\":%.3f}\n",
           nconns, elapsed, events, events / elapsed, expected, min_ev, max_ev, short_clients, missed, resyncs, closed_measuring,
           bytes_measured, PCT(0.5), PCT(0.99), nlat ? lat[nlat - 1] : 0.0, nlat ? sum / nlat : 0.0, nlat ? lat[0] : 0.0,
           cpu / elapsed);
    return 0;
}
