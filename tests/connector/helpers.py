"""Running connectors in the tests: in a thread of this process, or as a command in a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Background:
    """``cls.run(**options)`` in a thread; ``instance`` is the connector once it has opened."""

    def __init__(self, cls: Any, **options: Any) -> None:
        self.cls = cls
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(options,), daemon=True)
        self.thread.start()
        self.instance = wait_for(lambda: cls.instances[-1] if cls.instances else self.error, "open()")
        if self.error is not None:
            raise self.error

    def _run(self, options: dict[str, Any]) -> None:
        try:
            self.cls.run(**options)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        self.instance.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def metrics(address: str) -> dict[str, float]:
    """The samples of /metrics, parsed by prometheus_client's own parser: {'name{label=value}': value}."""
    text = httpx.get(f"http://{address}/metrics", timeout=10).text
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


class Child:
    """``data-interaction-client --url URL run ...`` in a child process, its stderr in a file."""

    def __init__(self, folder: Path, url: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.err_path = folder / f"connector-{time.monotonic_ns()}.err"
        command = [sys.executable, "-m", "data_interaction_client", "--url", url, "run", *args]
        with self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env={**os.environ, **(env or {})}
            )

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        os.kill(self.process.pid, sig)

    def wait(self, timeout: float = WAIT) -> tuple[int, float]:
        started = time.monotonic()
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
            self.process.wait(WAIT)
