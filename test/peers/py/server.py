#!/usr/bin/python3
"""A pymodbus (3.0, Debian's python3-pymodbus) Modbus/TCP server for interop tests.

usage: /usr/bin/python3 server.py [PORT]   (default 0: the OS picks a free port)

Binds 127.0.0.1 only. Prints "listening PORT" on stdout once it accepts
connections. Every write the datastore applies is printed as one JSON line,
zero-based and as pymodbus decoded it, so a test can check what arrived
independently of reading it back:

    {"write": "coils" | "holding", "fc": 5|6|15|16|23, "address": N, "values": [...]}

Data pattern, addresses 0..SIZE-1 (SIZE = 300), zero-based (zero_mode=True,
so PDU address 0 is element 0, without pymodbus's default +1 shift):

    coils[i]    = (i % 3 == 0)
    discrete[i] = (i % 2 == 1)
    holding[i]  = (i * 257) & 0xFFFF
    input[i]    = (0xFFFF - 7 * i) & 0xFFFF

Any address at or past SIZE is answered with exception 02 (illegal data address).
"""
import asyncio
import json
import logging
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server.async_io import ModbusTcpServer

SIZE = 300
AREA = {1: "coils", 5: "coils", 15: "coils", 3: "holding", 6: "holding", 16: "holding", 23: "holding"}


class LoggingContext(ModbusSlaveContext):
    """A slave context that reports every write on stdout."""

    def setValues(self, fc_as_hex, address, values):  # noqa: N802 (pymodbus API name)
        super().setValues(fc_as_hex, address, values)
        record = {
            "write": AREA.get(fc_as_hex, str(fc_as_hex)),
            "fc": fc_as_hex,
            "address": address,
            "values": [bool(v) if AREA.get(fc_as_hex) == "coils" else int(v) for v in values],
        }
        print(json.dumps(record), flush=True)


def make_context():
    slave = LoggingContext(
        co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(SIZE)]),
        di=ModbusSequentialDataBlock(0, [i % 2 == 1 for i in range(SIZE)]),
        hr=ModbusSequentialDataBlock(0, [(i * 257) & 0xFFFF for i in range(SIZE)]),
        ir=ModbusSequentialDataBlock(0, [(0xFFFF - 7 * i) & 0xFFFF for i in range(SIZE)]),
        zero_mode=True,
    )
    return ModbusServerContext(slaves=slave, single=True)


async def main(port):
    server = ModbusTcpServer(make_context(), address=("127.0.0.1", port))
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    bound = server.server.sockets[0].getsockname()[1]
    print(f"listening {bound}", flush=True)
    await task


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    except KeyboardInterrupt:
        pass
