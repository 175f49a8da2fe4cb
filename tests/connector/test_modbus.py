"""The Modbus example end to end: pymodbus's simulator, the connector, the reference platform."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "modbus_connector.py"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_modbus_example_feeds_the_platform() -> None:
    spec = importlib.util.spec_from_file_location("modbus_connector", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    arrived = module.demo(3.5)
    for name in ("temperature", "pressure", "counter"):
        points = arrived[name]
        assert len(points) >= 2, name
        assert all(point["q"] == 0 for point in points)
    temperatures = [point["y"] for point in arrived["temperature"]]
    assert all(540 <= value <= 660 for value in temperatures)  # the simulated boiler's range
    counters = [point["y"] for point in arrived["counter"]]
    assert counters == sorted(counters)
