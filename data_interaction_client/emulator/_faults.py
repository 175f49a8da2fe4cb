"""Fault injection: errors, latency, dropped connections and proxy HTML pages, decided per request."""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any


class FaultKind(enum.Enum):
    """What an injected fault does to one request."""

    NONE = "none"
    DROP = "drop"
    ERROR = "error"
    HTML = "html"


@dataclass(frozen=True)
class Faults:
    """Faults injected into the contract's endpoints; all off by default.

    Each request draws one random number: below ``drop_rate`` the connection is dropped without an answer;
    then below ``drop_rate + error_rate`` it answers ``error_status`` with the error envelope (and a
    ``Retry-After`` header when ``retry_after`` is set); then below ``... + html_rate`` it answers a proxy's
    HTML page with ``html_status``. Every answer, faulty or not, is delayed by ``latency`` seconds. A
    request that gets a fault stores nothing. ``seed`` makes the draws reproducible.
    """

    error_rate: float = 0.0
    error_status: int = 503
    retry_after: float | None = None
    latency: float = 0.0
    drop_rate: float = 0.0
    html_rate: float = 0.0
    html_status: int = 502
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "html_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], not {rate!r}")
        if self.error_rate + self.drop_rate + self.html_rate > 1.0 + 1e-9:
            raise ValueError("error_rate + drop_rate + html_rate must not exceed 1")
        for name in ("error_status", "html_status"):
            status = getattr(self, name)
            if not 400 <= status <= 599:
                raise ValueError(f"{name} must be an HTTP error status (400-599), not {status!r}")
        if self.latency < 0:
            raise ValueError(f"latency must not be negative, not {self.latency!r}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must not be negative, not {self.retry_after!r}")

    @property
    def retry_after_header(self) -> str | None:
        """The ``Retry-After`` header value (whole seconds when integral), or None."""
        if self.retry_after is None:
            return None
        return str(int(self.retry_after)) if float(self.retry_after).is_integer() else str(self.retry_after)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build from a dict of the field names; unknown keys raise ``ValueError``."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return cls(**data)


class FaultInjector:
    """Holds the current `Faults` and draws, per request, which fault (if any) to inject."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._random = random.Random()
        self.set(faults)

    @property
    def faults(self) -> Faults:
        """The current settings."""
        return self._faults

    def set(self, faults: Faults | None) -> None:
        """Replace the settings (None turns every fault off) and reseed the generator."""
        with self._lock:
            self._faults = faults if faults is not None else Faults()
            self._random = random.Random(self._faults.seed)

    def draw(self) -> tuple[FaultKind, Faults]:
        """Decide the fault of one request; also return the settings it was decided with."""
        with self._lock:
            faults = self._faults
            if not (faults.drop_rate or faults.error_rate or faults.html_rate):
                return FaultKind.NONE, faults
            roll = self._random.random()
        if roll < faults.drop_rate:
            return FaultKind.DROP, faults
        if roll < faults.drop_rate + faults.error_rate:
            return FaultKind.ERROR, faults
        if roll < faults.drop_rate + faults.error_rate + faults.html_rate:
            return FaultKind.HTML, faults
        return FaultKind.NONE, faults
