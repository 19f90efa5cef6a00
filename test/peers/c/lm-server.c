/*
 * A libmodbus Modbus/TCP server for interop tests and benchmarks.
 * usage: lm-server PORT   (0 picks a free port)
 * Prints "listening <port>" on stdout once ready; serves many connections
 * with select(), like libmodbus's bandwidth-server-many-up. Data pattern:
 *   coils[i] = (i % 3 == 0), discrete[i] = (i % 2), holding[i] = i, input[i] = (i * 7) & 0xFFFF
 * for addresses 0..9999.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIZE 10000

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 1502;
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(SIZE, SIZE, SIZE, SIZE);
    if (!ctx || !map) { fprintf(stderr, "init failed\n"); return 1; }
    for (int i = 0; i < SIZE; i++) {
        map->tab_bits[i] = (i % 3) == 0;
        map->tab_input_bits[i] = i % 2;
        map->tab_registers[i] = (uint16_t)i;
        map->tab_input_registers[i] = (uint16_t)((i * 7) & 0xFFFF);
    }
    int server = modbus_tcp_listen(ctx, 64);
    if (server < 0) { fprintf(stderr, "listen failed: %s\n", modbus_strerror(errno)); return 1; }
    struct sockaddr_in addr; socklen_t len = sizeof addr;
    getsockname(server, (struct sockaddr *)&addr, &len);
    printf("listening %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    fd_set all; FD_ZERO(&all); FD_SET(server, &all);
    int fdmax = server;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(fdmax + 1, &rd, NULL, NULL, NULL) == -1) { if (errno == EINTR) continue; perror("select"); return 1; }
        for (int fd = 0; fd <= fdmax; fd++) {
            if (!FD_ISSET(fd, &rd)) continue;
            if (fd == server) {
                struct sockaddr_in client; socklen_t cl = sizeof client;
                int s = accept(server, (struct sockaddr *)&client, &cl);
                if (s >= 0) { FD_SET(s, &all); if (s > fdmax) fdmax = s; }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                close(fd);
                FD_CLR(fd, &all);
                if (fd == fdmax) fdmax--;
            }
        }
    }
}
