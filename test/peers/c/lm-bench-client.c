/*
 * Reference client for bench:modbus: libmodbus, one request at a time.
 * usage: lm-bench-client HOST PORT COUNT   — FC03 x 125 registers at address 0, COUNT times.
 * Prints one JSON line: {"requests":N,"seconds":S,"rps":R,"p50_us":..,"p99_us":..}
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: lm-bench-client HOST PORT COUNT\n"); return 2; }
    int count = atoi(argv[3]);
    modbus_t *ctx = modbus_new_tcp(argv[1], atoi(argv[2]));
    if (modbus_connect(ctx) == -1) { fprintf(stderr, "connect: %s\n", modbus_strerror(errno)); return 1; }
    uint16_t regs[125];
    double *lat = malloc(sizeof(double) * count);
    /* warm-up */
    for (int i = 0; i < 1000; i++) modbus_read_registers(ctx, 0, 125, regs);
    double start = now_us();
    for (int i = 0; i < count; i++) {
        double t = now_us();
        if (modbus_read_registers(ctx, 0, 125, regs) != 125 || regs[124] != 124) {
            fprintf(stderr, "read failed: %s\n", modbus_strerror(errno)); return 1;
        }
        lat[i] = now_us() - t;
    }
    double secs = (now_us() - start) / 1e6;
    qsort(lat, count, sizeof(double), cmp);
    printf("{\"requests\":%d,\"seconds\":%.4f,\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           count, secs, count / secs, lat[count / 2], lat[(int)(count * 0.99)]);
    modbus_close(ctx); modbus_free(ctx);
    return 0;
}
