/*
 * Reference client for bench:modbus: the pipelining ceiling of a server.
 * Plain sockets, no library: keeps W requests (FC03 x 125 at address 0) in flight.
 * usage: pipelined-client HOST PORT COUNT WINDOW
 * Prints one JSON line like lm-bench-client.
 *
 *   request frame: | tid:u16 | 0:u16 | 6:u16 | unit=1 | 03 | addr=0:u16 | qty=125:u16 |
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP 259 /* 7 + 1 + 1 + 250 */

static double now_us(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y;
}
static void frame(unsigned char *f, unsigned tid) {
    unsigned char t[12] = {tid >> 8, tid & 0xFF, 0, 0, 0, 6, 1, 3, 0, 0, 0, 125};
    memcpy(f, t, 12);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: pipelined-client HOST PORT COUNT WINDOW\n"); return 2; }
    int count = atoi(argv[3]), window = atoi(argv[4]);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    int one = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double *lat = malloc(sizeof(double) * count);
    double sent_at[65536];
    unsigned char out[12 * 64], in[65536];
    int sent = 0, done = 0, have = 0; unsigned tid = 0;
    double start = now_us();
    int n = 0;
    for (; sent < window && sent < count; sent++, n++) { tid = (tid + 1) & 0xFFFF; frame(out + 12 * n, tid); sent_at[tid] = now_us(); }
    if (write(s, out, 12 * n) != 12 * n) { perror("write"); return 1; }
    while (done < count) {
        ssize_t r = read(s, in + have, sizeof in - have);
        if (r <= 0) { perror("read"); return 1; }
        have += r;
        int off = 0; n = 0;
        double t = now_us();
        while (have - off >= RESP) {
            unsigned rt = (in[off] << 8) | in[off + 1];
            if (in[off + 7] != 3 || in[off + 8] != 250) { fprintf(stderr, "bad reply\n"); return 1; }
            lat[done++] = t - sent_at[rt];
            off += RESP;
            if (sent < count) { tid = (tid + 1) & 0xFFFF; frame(out + 12 * n++, tid); sent_at[tid] = t; sent++; }
        }
        memmove(in, in + off, have - off); have -= off;
        if (n && write(s, out, 12 * n) != 12 * n) { perror("write"); return 1; }
    }
    double secs = (now_us() - start) / 1e6;
    qsort(lat, count, sizeof(double), cmp);
    printf("{\"requests\":%d,\"seconds\":%.4f,\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           count, secs, count / secs, lat[count / 2], lat[(int)(count * 0.99)]);
    close(s);
    return 0;
}
