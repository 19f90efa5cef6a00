/*
 * A libmodbus Modbus/TCP client for interop tests.
 * usage: lm-client HOST PORT UNIT OP...
 * Runs each OP in order on one connection and prints one JSON line per OP,
 * then "done". Addresses are zero-based PDU addresses. OPs (the same syntax as
 * test/peers/py/client.py):
 *   1:ADDR:N  2:ADDR:N  3:ADDR:N  4:ADDR:N   read coils / discrete inputs / holding / input
 *   5:ADDR:0|1                              write single coil
 *   6:ADDR:VALUE                            write single register
 *   15:ADDR:b,b,...                         write multiple coils (0/1)
 *   16:ADDR:v,v,...                         write multiple registers
 *   23:RADDR:RN:WADDR:v,v,...               read/write multiple registers
 *   22:ADDR:AND:OR                          mask write register
 *   raw:HEX                                 PDU bytes (hex, no spaces) sent as is with
 *                                           modbus_send_raw_request; prints the reply PDU
 * Output, one line per OP:
 *   {"op":OP,"ok":true,"values":[...]}      reads and 23 (bits as 0/1)
 *   {"op":OP,"ok":true,"written":N}         writes (libmodbus checks the echo itself)
 *   {"op":OP,"ok":true,"pdu":[...]}         raw: the reply PDU bytes (after the MBAP header)
 *   {"op":OP,"ok":false,"exception":CODE,"error":"..."}   a Modbus exception reply
 *   {"op":OP,"ok":false,"errno":N,"error":"..."}          anything else
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 2048

/* Parses "a,b,c" (decimal or 0x hex) into out; returns the count, or -1. */
static int parse_list(const char *s, uint16_t *out) {
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 0);
        if (end == s || v < 0 || v > 0xFFFF || n >= MAX_VALUES) return -1;
        out[n++] = (uint16_t)v;
        if (*end == ',') end++;
        else if (*end != '\0') return -1;
        s = end;
    }
    return n;
}

static void print_error(const char *op) {
    int e = errno;
    if (e >= EMBXILFUN && e <= EMBXGTAR) {
        printf("{\"op\":\"%s\",\"ok\":false,\"exception\":%d,\"error\":\"%s\"}\n", op, e - MODBUS_ENOBASE,
               modbus_strerror(e));
    } else {
        printf("{\"op\":\"%s\",\"ok\":false,\"errno\":%d,\"error\":\"%s\"}\n", op, e, modbus_strerror(e));
    }
}

static void print_u8(const char *op, const uint8_t *v, int n) {
    printf("{\"op\":\"%s\",\"ok\":true,\"values\":[", op);
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", v[i]);
    printf("]}\n");
}

static void print_u16(const char *op, const uint16_t *v, int n) {
    printf("{\"op\":\"%s\",\"ok\":true,\"values\":[", op);
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", v[i]);
    printf("]}\n");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void run_raw(modbus_t *ctx, const char *op, const char *hex, int unit) {
    uint8_t req[MODBUS_MAX_PDU_LENGTH + 1];
    size_t len = strlen(hex);
    if (len % 2 != 0 || len / 2 > MODBUS_MAX_PDU_LENGTH) {
        printf("{\"op\":\"%s\",\"ok\":false,\"error\":\"bad hex\"}\n", op);
        return;
    }
    req[0] = (uint8_t)unit; /* libmodbus wants the unit id before the PDU */
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            printf("{\"op\":\"%s\",\"ok\":false,\"error\":\"bad hex\"}\n", op);
            return;
        }
        req[1 + i] = (uint8_t)(hi << 4 | lo);
    }
    if (modbus_send_raw_request(ctx, req, (int)(1 + len / 2)) == -1) {
        print_error(op);
        return;
    }
    uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int n = modbus_receive_confirmation(ctx, rsp);
    if (n == -1) {
        print_error(op);
        return;
    }
    int header = modbus_get_header_length(ctx); /* 7 for TCP: MBAP with the unit id last */
    printf("{\"op\":\"%s\",\"ok\":true,\"unit\":%u,\"pdu\":[", op, rsp[header - 1]);
    for (int i = header; i < n; i++) printf(i > header ? ",%u" : "%u", rsp[i]);
    printf("]}\n");
}

static void run(modbus_t *ctx, const char *op, int unit) {
    char buf[16384];
    snprintf(buf, sizeof buf, "%s", op);
    char *fields[6] = {0};
    int nf = 0;
    for (char *save, *tok = strtok_r(buf, ":", &save); tok && nf < 6; tok = strtok_r(NULL, ":", &save)) {
        fields[nf++] = tok;
    }
    if (nf >= 2 && strcmp(fields[0], "raw") == 0) {
        run_raw(ctx, op, fields[1], unit);
        return;
    }
    int fc = nf > 0 ? atoi(fields[0]) : -1;
    static uint8_t bits[MAX_VALUES];
    static uint16_t regs[MAX_VALUES];
    static uint16_t vals[MAX_VALUES];
    int addr = nf > 1 ? (int)strtol(fields[1], NULL, 0) : 0;
    int rc;
    switch (fc) {
    case 1:
    case 2:
        if (nf != 3) break;
        rc = (fc == 1 ? modbus_read_bits : modbus_read_input_bits)(ctx, addr, atoi(fields[2]), bits);
        if (rc == -1) print_error(op);
        else print_u8(op, bits, rc);
        return;
    case 3:
    case 4:
        if (nf != 3) break;
        rc = (fc == 3 ? modbus_read_registers : modbus_read_input_registers)(ctx, addr, atoi(fields[2]), regs);
        if (rc == -1) print_error(op);
        else print_u16(op, regs, rc);
        return;
    case 5:
    case 6:
        if (nf != 3) break;
        rc = fc == 5 ? modbus_write_bit(ctx, addr, atoi(fields[2]))
                     : modbus_write_register(ctx, addr, (uint16_t)strtol(fields[2], NULL, 0));
        if (rc == -1) print_error(op);
        else printf("{\"op\":\"%s\",\"ok\":true,\"written\":%d}\n", op, rc);
        return;
    case 15:
    case 16: {
        if (nf != 3) break;
        int n = parse_list(fields[2], vals);
        if (n < 0) break;
        if (fc == 15) {
            for (int i = 0; i < n; i++) bits[i] = vals[i] ? 1 : 0;
            rc = modbus_write_bits(ctx, addr, n, bits);
        } else {
            rc = modbus_write_registers(ctx, addr, n, vals);
        }
        if (rc == -1) print_error(op);
        else printf("{\"op\":\"%s\",\"ok\":true,\"written\":%d}\n", op, rc);
        return;
    }
    case 22:
        if (nf != 4) break;
        rc = modbus_mask_write_register(ctx, addr, (uint16_t)strtol(fields[2], NULL, 0),
                                        (uint16_t)strtol(fields[3], NULL, 0));
        if (rc == -1) print_error(op);
        else printf("{\"op\":\"%s\",\"ok\":true,\"written\":1}\n", op);
        return;
    case 23: {
        if (nf != 5) break;
        int n = parse_list(fields[4], vals);
        if (n < 0) break;
        int rn = atoi(fields[2]);
        rc = modbus_write_and_read_registers(ctx, (int)strtol(fields[3], NULL, 0), n, vals, addr, rn, regs);
        if (rc == -1) print_error(op);
        else print_u16(op, regs, rc);
        return;
    }
    default:
        break;
    }
    printf("{\"op\":\"%s\",\"ok\":false,\"error\":\"cannot parse op\"}\n", op);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: lm-client HOST PORT UNIT OP...\n");
        return 2;
    }
    int unit = atoi(argv[3]);
    modbus_t *ctx = modbus_new_tcp(argv[1], atoi(argv[2]));
    if (!ctx) {
        fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, 2, 0);
    if (modbus_connect(ctx) == -1) {
        printf("{\"ok\":false,\"errno\":%d,\"error\":\"connect: %s\"}\n", errno, modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }
    for (int i = 4; i < argc; i++) {
        run(ctx, argv[i], unit);
        fflush(stdout);
    }
    printf("done\n");
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
