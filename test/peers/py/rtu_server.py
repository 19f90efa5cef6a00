#!/usr/bin/python3
"""A pymodbus (3.0, Debian's python3-pymodbus) Modbus RTU server on a serial line, for interop tests.

usage: /usr/bin/python3 rtu_server.py DEVICE [BAUD]   (8 data bits, no parity, 1 stop bit: 8N1)

Serves the data pattern of server.py (see its header), for any unit id, and
prints every write the datastore applies the same way. Prints "serving DEVICE"
once the port is open.
"""
import asyncio
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pymodbus.server.async_io import ModbusSerialServer  # noqa: E402
from pymodbus.transaction import ModbusRtuFramer  # noqa: E402

from server import make_context  # noqa: E402


async def main(device, baud):
    server = ModbusSerialServer(
        make_context(),
        framer=ModbusRtuFramer,
        port=device,
        baudrate=baud,
        bytesize=8,
        parity="N",
        stopbits=1,
        timeout=0.01,
    )
    await server.start()
    if server.transport is None:
        raise SystemExit(f"cannot open {device}")
    print(f"serving {device}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 19200))
    except KeyboardInterrupt:
        pass
