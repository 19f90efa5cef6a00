#!/usr/bin/python3
"""A pymodbus (3.0, Debian's python3-pymodbus) Modbus/TCP client for interop tests.

usage: /usr/bin/python3 client.py HOST PORT UNIT OP...
       /usr/bin/python3 client.py --pipelined HOST PORT UNIT COUNT

Runs each OP in order on one connection and prints one JSON line per OP, then
"done". Addresses are zero-based PDU addresses. OPs (the same syntax as
test/peers/c/lm-client.c, plus two function codes Planta does not serve):

    1:ADDR:N   2:ADDR:N   3:ADDR:N   4:ADDR:N      read coils / discrete inputs / holding / input
    5:ADDR:0|1                                     write single coil
    6:ADDR:VALUE                                   write single register
    15:ADDR:b,b,...                                write multiple coils (0/1)
    16:ADDR:v,v,...                                write multiple registers
    23:RADDR:RN:WADDR:v,v,...                      read/write multiple registers
    22:ADDR:AND:OR                                 mask write register (not served by Planta)
    7                                              read exception status (not served by Planta)

Output, one line per OP:
    {"op": OP, "ok": true, "values": [...]}                   reads and 23 (bits as 0/1)
    {"op": OP, "ok": true, "written": N, "address": A, ...}   writes, from the response echo
    {"op": OP, "ok": false, "exception": CODE, "fc": FC}      an exception response (FC = fc | 0x80)
    {"op": OP, "ok": false, "error": "..."}                   anything else (no reply, bad reply)
Reads of bits also report "padding": the bits after N up to the byte boundary.

--pipelined sends COUNT requests at once on one connection with pymodbus's
asyncio client (request k reads 2 holding registers at address k if k is even,
2 input registers at address k if k is odd), then prints one JSON line
{"pipelined": COUNT, "values": [[r0, r1], ...]} (null for a failed request) and "done".
"""
import asyncio
import json
import logging
import sys

from pymodbus.client import AsyncModbusTcpClient, ModbusTcpClient
from pymodbus.pdu import ExceptionResponse
from pymodbus.register_write_message import MaskWriteRegisterRequest


def ints(text):
    return [int(v, 0) for v in text.split(",")] if text else []


def run(client, unit, op):
    parts = op.split(":")
    fc = int(parts[0])
    if fc in (1, 2, 3, 4):
        address, count = int(parts[1]), int(parts[2])
        reader = {
            1: client.read_coils,
            2: client.read_discrete_inputs,
            3: client.read_holding_registers,
            4: client.read_input_registers,
        }[fc]
        rsp = reader(address, count, slave=unit)
        if rsp.isError():
            return rsp
        if fc in (1, 2):
            bits = [1 if b else 0 for b in rsp.bits]
            return {"values": bits[:count], "padding": bits[count:]}
        return {"values": list(rsp.registers)}
    if fc == 5:
        rsp = client.write_coil(int(parts[1]), parts[2] == "1", slave=unit)
        if rsp.isError():
            return rsp
        return {"written": 1, "address": rsp.address, "value": 1 if rsp.value else 0}
    if fc == 6:
        rsp = client.write_register(int(parts[1]), int(parts[2], 0), slave=unit)
        if rsp.isError():
            return rsp
        return {"written": 1, "address": rsp.address, "value": rsp.value}
    if fc == 15:
        rsp = client.write_coils(int(parts[1]), [v == 1 for v in ints(parts[2])], slave=unit)
        if rsp.isError():
            return rsp
        return {"written": rsp.count, "address": rsp.address}
    if fc == 16:
        rsp = client.write_registers(int(parts[1]), ints(parts[2]), slave=unit)
        if rsp.isError():
            return rsp
        return {"written": rsp.count, "address": rsp.address}
    if fc == 23:
        rsp = client.readwrite_registers(
            read_address=int(parts[1]),
            read_count=int(parts[2]),
            write_address=int(parts[3]),
            write_registers=ints(parts[4]),
            unit=unit,
        )
        if rsp.isError():
            return rsp
        return {"values": list(rsp.registers)}
    if fc == 22:
        rsp = client.execute(
            MaskWriteRegisterRequest(int(parts[1]), int(parts[2], 0), int(parts[3], 0), unit=unit)
        )
        return rsp if rsp.isError() else {"written": 1}
    if fc == 7:
        rsp = client.read_exception_status(slave=unit)
        return rsp if rsp.isError() else {"values": [rsp.status]}
    raise ValueError(f"unknown op {op}")


async def pipelined(host, port, unit, count):
    client = AsyncModbusTcpClient(host, port=port, timeout=5, retries=0)
    await client.connect()
    try:
        requests = [
            (client.read_holding_registers if k % 2 == 0 else client.read_input_registers)(k, 2, slave=unit)
            for k in range(count)
        ]
        replies = await asyncio.gather(*requests, return_exceptions=True)
    finally:
        await client.close()
    values = [list(r.registers) if hasattr(r, "registers") else None for r in replies]
    print(json.dumps({"pipelined": count, "values": values}), flush=True)
    print("done", flush=True)
    return 0


def main():
    if sys.argv[1] == "--pipelined":
        host, port, unit, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        return asyncio.run(pipelined(host, port, unit, count))
    host, port, unit, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    client = ModbusTcpClient(host, port=port, timeout=2, retries=0)
    if not client.connect():
        print(json.dumps({"error": f"cannot connect to {host}:{port}"}), flush=True)
        return 2
    try:
        for op in ops:
            try:
                result = run(client, unit, op)
            except Exception as exc:  # pylint: disable=broad-except
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            if isinstance(result, ExceptionResponse):
                result = {"ok": False, "exception": result.exception_code, "fc": result.function_code}
            elif not isinstance(result, dict):
                result = {"ok": False, "error": str(result)}
            else:
                result = {"ok": True, **result}
            print(json.dumps({"op": op, **result}), flush=True)
    finally:
        client.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)
    sys.exit(main())
