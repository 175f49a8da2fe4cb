"""A Modbus TCP connector: holding registers read with pymodbus, fed to the platform by the runtime.

Each tag's ``smtTagSource`` names its register (``{"register": 40001}``: holding register 0); the
value is scaled by the tag's ``smtTagValueScale``. Run it against a device::

    data-interaction-client --url http://platform:8000 run examples.modbus_connector:Modbus \
        --source 1 --spool /var/lib/modbus/spool --config modbus.yaml

``python examples/modbus_connector.py [SECONDS]`` runs the demo instead (``make modbus-demo``): the
reference platform, a pymodbus TCP server simulating a boiler's registers, and this connector, for a
minute; then it prints what arrived. Needs the 'connector' and 'platform' extras, and pymodbus.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import sys
import tempfile
import threading
import time
from typing import Any

import pydantic
from pymodbus.client import ModbusTcpClient

from data_interaction_client import Tag
from data_interaction_client.connector import Connector, Reading, Source

FIRST_HOLDING_REGISTER = 40001


class Modbus(Connector):
    """Reads each tag's holding register."""

    poll_interval = 1.0

    class Settings(pydantic.BaseModel):
        host: str = "127.0.0.1"
        port: int = 502
        device_id: int = 1
        timeout: float = 2.0

    def open(self, source: Source) -> None:
        self.client = ModbusTcpClient(
            self.settings.host, port=self.settings.port, timeout=self.settings.timeout
        )
        if not self.client.connect():
            raise ConnectionRefusedError(f"no Modbus device at {self.settings.host}:{self.settings.port}")

    def poll(self, tags: list[Tag]) -> list[Reading]:
        readings = []
        for tag in tags:
            source = tag.attributes.source
            if not isinstance(source, dict) or "register" not in source:
                continue  # not a register of this device (e.g. a coil)
            answer = self.client.read_holding_registers(
                source["register"] - FIRST_HOLDING_REGISTER, count=1, device_id=self.settings.device_id
            )
            if answer.isError():
                readings.append(Reading(tag, None, q=102))  # this register's link is lost
                continue
            readings.append(Reading(tag, answer.registers[0] * (tag.attributes.scale or 1)))
        return readings

    def close(self) -> None:
        self.client.close()


# --- the demo: a simulated device, the reference platform, and the connector -------------------------


def _boiler_registers() -> list[int]:
    """The simulated boiler: temperature (tenths of a degree), pressure and a counter, changing."""
    t = time.time()
    return [int(600 + 50 * math.sin(t / 5)), 0, int(12 + 3 * math.cos(t / 7)), 0, int(t) % 60000]


def _simulate(port: int, started: threading.Event) -> None:
    """pymodbus's simulator: a device whose holding registers 0-15 answer the boiler's values."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def read(
        function_code: int, start_address: int, address: int, count: int, registers: list[int], values: Any
    ) -> None:
        current = _boiler_registers()
        for index in range(len(registers)):
            if start_address + index < len(current):
                registers[index] = current[start_address + index]

    device = SimDevice(
        id=1, simdata=[SimData(0, count=16, values=0, datatype=DataType.REGISTERS)], action=read
    )

    async def serve() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        task = asyncio.create_task(server.serve_forever())
        started.set()
        await task

    asyncio.run(serve())


def demo(seconds: float) -> dict[str, Any]:
    """Run the three together for ``seconds``; return the points that arrived, by tag."""
    from data_interaction_client.emulator import run_platform
    from data_interaction_client.emulator._server import listen

    with listen("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
    started = threading.Event()
    threading.Thread(target=_simulate, args=(port, started), daemon=True).start()
    started.wait(10)
    spool = tempfile.mkdtemp(prefix="modbus-spool-")
    try:
        with run_platform() as platform:  # the shipped example: data source "1", registers 40001...
            runner = threading.Thread(
                target=Modbus.run,
                kwargs={"url": platform.url, "source": "1", "spool": spool, "settings": {"port": port}},
                daemon=True,
            )
            instances: list[Modbus] = []
            original = Modbus.open

            def remember(self: Modbus, source: Source) -> None:
                instances.append(self)
                original(self, source)

            Modbus.open = remember  # type: ignore[method-assign]
            runner.start()
            time.sleep(seconds)
            if instances:
                instances[0].stop()
            runner.join(30)
            return {
                "temperature": platform.stored_points("temperature"),
                "pressure": platform.stored_points({"tagName": "pressure", "parentObjectId": "boiler-7"}),
                "counter": platform.stored_points("counter"),
            }
    finally:
        shutil.rmtree(spool, ignore_errors=True)


if __name__ == "__main__":
    arrived = demo(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
    for name, points in arrived.items():
        last = points[-1] if points else None
        print(f"{name}: {len(points)} points; last {last}")
