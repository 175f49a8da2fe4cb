"""The `Connector` base class and ``Connector.run``: signals, logging, metrics, the driver."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Unpack

from .._tag import Tag
from .._types import TagIdLike, Timestamp, tag_id_from
from ._core import log
from ._errors import OpenError
from ._metrics import HealthServer, Metrics
from ._model import Source
from ._settings import RunOptions, RunSettings, resolve
from ._state import Core
from ._writing import spool_watermark

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    SettingsT = TypeVar("SettingsT", default=Any)
else:
    from typing import TypeVar

    SettingsT = TypeVar("SettingsT")

__all__ = ["HOOKS", "Connector"]

HOOKS = ("open", "poll", "backfill", "subscribe", "tags_changed", "close")
"""The hooks a connector may define."""


class Connector(Generic[SettingsT]):
    """The base of a connector: define its hooks, then ``MyConnector.run(url=..., source=..., spool=...)``.

    ```python
    class Boiler(Connector):
        poll_interval = 1.0                      # seconds; an option overrides it

        class Settings(pydantic.BaseModel):      # optional: the settings file's "settings"
            host: str = "127.0.0.1"

        def open(self, source: Source) -> None:
            self.registers = {tag.id: tag.attributes.source["register"] for tag in source.tags}

        def poll(self, tags: list[Tag]) -> Iterable[Reading | tuple]:
            for tag in tags:
                yield tag, read_register(self.settings.host, self.registers[tag.id])
    ```

    The runtime calls ``open(source)`` once the platform has described the data source, then
    ``backfill(tag, since_x, until_x)`` (when defined) for each tag from its watermark, then ``poll(tags)``
    every ``poll_interval`` seconds; ``tags_changed(added, removed, changed)`` (when defined) when the
    platform's tags change; ``close()`` when it stops. ``poll`` returns or yields
    [`Reading`][data_interaction_client.connector.Reading] objects or tuples ``(tag, y)`` /
    ``(tag, x, y[, q])``; ``x`` defaults to the tick's time. When a hook is ``async def``, every hook runs on
    an event loop, with the async client and writer.

    A push source defines ``subscribe(tags)`` (called after ``open``, after the tags change and after
    a reopen) and hands each value to ``self.emit(reading)`` from any thread or from the event loop;
    without ``poll`` it is push-only. ``self.link_lost()`` and ``self.link_restored()`` tell the
    runtime about the source's link; ``self.reopen()`` (or raising
    [`SourceLinkLost`][data_interaction_client.connector.SourceLinkLost] from a hook) closes and opens
    it again.

    ``self.settings`` is the connector's ``Settings`` (validated), ``self.source`` the data source,
    ``self.log`` its logger. An ``OSError`` from ``open`` is tried again with backoff; when ``poll``
    raises, the link is lost: every tag of that poll gets one ``y=None, q=102`` mark after its last
    reading, and the window is read again through ``backfill`` once a poll works.

    For mypy, name the settings' class: ``class Boiler(Connector[BoilerSettings])`` makes
    ``self.settings`` a ``BoilerSettings``.
    """

    poll_interval: ClassVar[float] = 1.0
    """Seconds between two polls (the ``poll_interval`` option overrides it)."""
    link_lost_marks: ClassVar[Literal["once", "every_tick"]] = "once"
    """``"once"``: one ``q=102`` mark per tag when its link goes; ``"every_tick"``: one per failed tick."""

    settings: SettingsT
    """The connector's settings, validated by its ``Settings`` class (pydantic) when it has one."""

    @property
    def source(self) -> Source:
        """The data source given to ``open`` (set just before it is called; ``poll`` gets the tags now)."""
        source = self._runtime_source
        if source is None:
            raise RuntimeError("self.source is known once the runtime calls open()")
        return source

    @source.setter
    def source(self, source: Source) -> None:
        self._runtime_source = source

    @property
    def log(self) -> logging.Logger:
        """The connector's logger: ``data_interaction_client.connector.<class name>``, shown under ``run``."""
        return logging.getLogger(f"data_interaction_client.connector.{type(self).__name__}")

    def open(self, source: Source) -> Any:
        """Connect the equipment; ``source`` describes the data source and its tags.

        An ``OSError`` is tried again with backoff; any other exception stops the run.
        """

    def poll(self, tags: list[Tag]) -> Any:
        """Read the current values of ``tags``: an iterable of readings."""
        raise NotImplementedError(f"{type(self).__name__} must define poll(self, tags)")

    def close(self) -> Any:
        """Disconnect the equipment."""

    def watermark(self, tag: Tag | TagIdLike) -> Timestamp | None:
        """The ``x`` of the last point of ``tag`` the spool holds (``None`` when it holds none yet)."""
        writer = self._runtime_writer
        if writer is None:
            raise RuntimeError("watermark() is known while the connector runs")
        tag_id = tag.id if isinstance(tag, Tag) else tag_id_from(tag)
        return spool_watermark(writer, tag_id)

    def stop(self) -> None:
        """Ask the run to stop (from any thread), as SIGTERM does."""
        event = self._runtime_stop
        if event is not None:
            event()

    def emit(self, reading: object) -> None:
        """Hand one reading to the writer at once, from any thread or from the event loop.

        ``reading`` takes any form ``poll`` may give: ``Reading(tag, y, x=None, q=None)``, ``(tag, y)``
        or ``(tag, x, y[, q])``; without ``x`` it is stamped with the wall clock now. It returns at
        once. Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] for a bad reading
        and [`WriterClosedError`][data_interaction_client.WriterClosedError] once the run is stopping:
        every reading emitted before the stop began is in the spool before the writer closes.
        """
        self._runtime_call("emit()").emit(reading)

    def link_lost(self, error: BaseException | str | None = None, tags: Iterable[Tag] | None = None) -> None:
        """Say that the link to the data source (or to ``tags`` only) is lost, from any thread.

        Each tag gets one ``q=102`` mark after its last reading; ``/healthz`` shows the link lost;
        the window is read again through ``backfill`` once `link_restored` is called.
        """
        self._runtime_call("link_lost()").link_lost(error, None if tags is None else list(tags))

    def link_restored(self, tags: Iterable[Tag] | None = None) -> None:
        """Say that the link to the data source (or to ``tags`` only) works again, from any thread."""
        self._runtime_call("link_restored()").link_restored(None if tags is None else list(tags))

    def reopen(self) -> None:
        """Ask the runtime to close and open the connector again (with backoff), from any thread."""
        self._runtime_call("reopen()").reopen()

    def _runtime_call(self, what: str) -> Any:
        runtime = self._runtime
        if runtime is None:
            raise RuntimeError(f"{what} works while the connector runs (from open() on)")
        return runtime

    _runtime_writer: Any = None
    _runtime_stop: Any = None
    _runtime: Any = None
    _runtime_source: Source | None = None

    @classmethod
    def is_async(cls) -> bool:
        """Whether the hooks run on an event loop (one of them is ``async def``)."""
        return any(
            inspect.iscoroutinefunction(getattr(cls, name, None))
            or inspect.isasyncgenfunction(getattr(cls, name, None))
            for name in HOOKS
        )

    @classmethod
    def run(
        cls,
        url: str | None = None,
        source: str | None = None,
        spool: str | os.PathLike[str] | None = None,
        **options: Unpack[RunOptions],
    ) -> None:
        """Run the connector until SIGINT or SIGTERM (or `stop()`).

        It connects (trying again while the platform is down), calls the hooks, and returns once the
        connector is closed and the writer has delivered for ``close_timeout`` seconds (the rest stays
        in the spool for the next start). Each argument and option may come from the settings file
        instead (``config``); see [`RunOptions`][data_interaction_client.connector.RunOptions].

        Args:
            url: The platform's base URL.
            source: The id of the data source to feed.
            spool: The writer's spool directory: keep it across restarts.

        Keyword Args:
            token (str | None): The platform's token.
            config (str | os.PathLike[str] | None): A YAML or TOML settings file.
            poll_interval (float): Seconds between two polls (the class attribute by default).
            refresh_interval (float): Seconds between two reads of the data source (default 60).
            close_timeout (float): Seconds the writer delivers at a stop (default 10).
            metrics (str | None): ``"HOST:PORT"`` for ``/metrics`` and ``/healthz``.
            unhealthy_after (float): Seconds the platform may be unreachable before ``/healthz`` says
                503 (default 300).
            source_unhealthy_after (float): Seconds the link to the data source may be lost before
                ``/healthz`` says 503 (default 300).
            reopen_after (int): Polls failing in a row after which the connector is closed and
                opened again (default 3; 0: never).
            open_retry_max (float): The longest wait between two tries of ``open`` (default 30).
            log_level (str): The level of the runtime's log lines and ``self.log`` (default INFO).
            client (Mapping[str, Any]): The client's options.
            writer (Mapping[str, Any]): The writer's options.
            settings (Any): The connector's settings, validated by its ``Settings`` class.

        Raises:
            OpenError: ``open()`` failed for good (anything but an ``OSError``), or the data source
                does not exist.
            SettingsError: A setting is wrong; the message names the file and the key.

        """
        settings = resolve(
            url=url,
            source=source,
            spool=spool,
            options=options,
            poll_interval=cls.poll_interval,
            settings_model=getattr(cls, "Settings", None),
        )
        connector = cls()
        connector.settings = settings.settings
        run_connector(connector, settings)


def _logging(level: str) -> None:
    """Log the runtime's state changes (and ``self.log``) to stderr, unless the application set up logging."""
    package = logging.getLogger("data_interaction_client")
    if logging.getLogger().handlers or package.handlers:
        logging.getLogger("data_interaction_client.connector").setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    logging.getLogger("data_interaction_client.connector").setLevel(level)


@contextlib.contextmanager
def _signals(stop: Any, close_timeout: float) -> Iterator[None]:
    """SIGINT and SIGTERM: say at once that the run stops, and stop; a second signal exits at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if received:
            os.write(2, f"{name} again: exiting now; what is not delivered stays in the spool\n".encode())
            os._exit(128 + signum)
        received.append(signum)
        os.write(
            2,
            f"{name}: stopping: closing the connector, delivering for up to {close_timeout:g} s "
            "(the rest stays in the spool); a second signal exits at once\n".encode(),
        )
        stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _core_for(cls: type[Connector], settings: RunSettings) -> Core:
    """The run's core, with what the connector's class defines; `OpenError` when it cannot run."""
    polls = cls.poll is not Connector.poll
    if not polls and getattr(cls, "subscribe", None) is None:
        raise OpenError(f"{cls.__name__} defines neither poll(self, tags) nor subscribe(self, tags)")
    if cls.link_lost_marks not in ("once", "every_tick"):
        raise OpenError(
            f"{cls.__name__}.link_lost_marks must be 'once' or 'every_tick', not {cls.link_lost_marks!r}"
        )
    return Core(
        settings,
        None,
        backfills=getattr(cls, "backfill", None) is not None,
        every_tick=cls.link_lost_marks == "every_tick",
        polls=polls,
    )


def run_connector(connector: Connector, settings: RunSettings) -> None:
    """Run ``connector`` with ``settings`` until stopped."""
    _logging(settings.log_level)
    core = _core_for(type(connector), settings)
    try:
        core.metrics = Metrics(core.writer_stats, core.state)
    except ImportError:
        if settings.metrics is not None:
            raise
    metrics = core.metrics
    if metrics is not None:
        metrics.source_link_up.set(0)
    server = None
    if settings.metrics is not None:
        server = HealthServer(settings.metrics, metrics, core.health)
        log.info("metrics on http://%s:%d/metrics and /healthz", *server.address)
    close_timeout = float(settings.writer.get("close_timeout", 10.0))
    try:
        if type(connector).is_async():
            from ._async import AsyncDriver

            async def main() -> None:
                driver = AsyncDriver(connector, core)
                loop = asyncio.get_running_loop()
                connector._runtime_stop = lambda: loop.call_soon_threadsafe(driver.request_stop)
                await driver.run()

            with _signals(connector.stop, close_timeout):
                asyncio.run(main())
        else:
            from ._sync import SyncDriver

            driver = SyncDriver(connector, core)
            connector._runtime_stop = driver.request_stop
            with _signals(driver.request_stop, close_timeout):
                driver.run()
    finally:
        connector._runtime_stop = None
        connector._runtime = None
        if server is not None:
            server.close()
    log.info("stopped")
    sys.stderr.flush()
