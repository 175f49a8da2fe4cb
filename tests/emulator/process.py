"""The platform's command line run as a subprocess: its address, its memory, stopping it by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PlatformProcess:
    """``data-interaction-platform`` on 127.0.0.1 and a free port, its output in files under ``folder``."""

    def __init__(
        self, folder: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path = folder / f"platform-{self.port}.out"
        self.err_path = folder / f"platform-{self.port}.err"
        command = [sys.executable, "-m", "data_interaction_client.emulator", "--port", str(self.port), *args]
        if "--log-level" not in args:
            command += ["--log-level", "warning"]
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=err, cwd=folder, env={**os.environ, **(env or {})}
            )
        self.pid = self.process.pid
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the platform ended: {self.output()}")
            try:
                httpx.get(f"{self.url}/_emulator/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
            else:
                return
        raise AssertionError(f"the platform did not start: {self.output()}")

    def output(self) -> tuple[str, str]:
        return self.out_path.read_text(errors="replace"), self.err_path.read_text(errors="replace")

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")

    def start_peak(self) -> int:
        """Start measuring the peak resident memory from now; return the resident memory now (bytes)."""
        with contextlib.suppress(OSError):
            # Resets VmHWM to the current RSS (Linux 4.0+); without it the peak since start is used.
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self._status("VmRSS")

    def peak(self) -> int:
        """The peak resident memory (bytes) since :meth:`start_peak`."""
        return self._status("VmHWM")

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> tuple[int, float]:
        """Wait for the end; return the exit status and how long it took."""
        started = time.monotonic()
        returncode = self.process.wait(timeout=timeout)
        return returncode, time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def __enter__(self) -> PlatformProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
