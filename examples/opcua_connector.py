"""An OPC UA connector: subscriptions pushed through ``emit``, history read back through ``backfill``.

Each tag's ``smtTagSource`` names its node: ``{"node": "ns=2;s=Boiler.Temperature"}``. The connector
subscribes to every node (the OPC Foundation's advice: subscriptions rather than polling) and hands
each data change to ``self.emit`` with the server's source timestamp. What it could not receive
(before a start, while the link was down) the runtime reads again through ``backfill``, a
HistoryReadRaw from the tag's watermark; a lost connection asks the runtime to ``reopen`` it. Run it
against a server::

    data-interaction-client --url http://platform:8000 run examples.opcua_connector:OpcUa \
        --source 1 --spool /var/lib/opcua/spool --config opcua.yaml

``python examples/opcua_connector.py [SECONDS]`` runs the demo instead (``make opcua-demo``):
asyncua's own server simulating a boiler with its history on, the reference platform and this
connector, for a minute; then it prints, per tag, how many samples the server's history holds and
how many arrived, and exits 0 when every one arrived. Needs the 'connector', 'opcua' and
'platform' extras.

Quality codes. The platform's ``q`` is a signed 32-bit integer; an OPC UA StatusCode is an
unsigned 32-bit one whose two top bits are its severity. `quality` maps them so that nothing is
lost:

* Good (severity 00, any sub-code or info bits) -> ``0``, a good value;
* a communication failure (`COMMUNICATION_FAILURES`: BadCommunicationError, BadNoCommunication,
  BadNotConnected, BadTimeout, UncertainNoCommunicationLastUsableValue...) -> ``102``, the link to
  the data source lost, with ``y=None``;
* every other code -> the StatusCode itself as a signed 32-bit integer: Uncertain codes
  (0x40000000-0x7FFFFFFF) keep their value, Bad ones (0x80000000-0xFFFFFFFF) become negative
  (the code minus 2**32). ``q & 0xFFFFFFFF`` gives the code back (`status_code`), and no code
  falls on the platform's 0, 100, 101 or 102. A Bad value is sent with ``y=None`` (OPC UA says
  it is not to be used); an Uncertain one keeps its value.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pydantic
from asyncua import Client, Node, Server, ua
from asyncua.common.subscription import DataChangeNotif, Subscription
from asyncua.server.history import HistoryStorageInterface

from data_interaction_client import Tag, WriterClosedError
from data_interaction_client.connector import LINK_LOST, Connector, Reading, Source, SourceLinkLost

# --- quality codes -----------------------------------------------------------------------------------

_S = ua.StatusCodes
COMMUNICATION_FAILURES = frozenset(
    {
        _S.BadCommunicationError,
        _S.BadNoCommunication,
        _S.BadNotConnected,
        _S.BadServerNotConnected,
        _S.BadConnectionClosed,
        _S.BadConnectionRejected,
        _S.BadSecureChannelClosed,
        _S.BadTimeout,
        _S.BadRequestTimeout,
        _S.BadServerHalted,
        _S.BadShutdown,
        _S.UncertainNoCommunicationLastUsableValue,
    }
)
"""The StatusCodes (their severity and sub-code, the top 16 bits) that say the link is lost: ``q=102``."""

_CODE_BITS = 0xFFFF0000  # severity, reserved bits and sub-code; the rest are flags and info bits


def quality(status: ua.StatusCode | int) -> int:
    """The platform's quality code of an OPC UA StatusCode (see the module's docstring)."""
    code = (status.value if isinstance(status, ua.StatusCode) else int(status)) & 0xFFFFFFFF
    if code >> 30 == 0:
        return 0
    if code & _CODE_BITS in COMMUNICATION_FAILURES:
        return LINK_LOST
    return code - (1 << 32) if code >> 31 else code


def status_code(q: int) -> ua.StatusCode:
    """The StatusCode a ``quality`` came from (Good for 0, BadNoCommunication for 102)."""
    if q == 0:
        return ua.StatusCode(_S.Good)
    if q == LINK_LOST:
        return ua.StatusCode(_S.BadNoCommunication)
    return ua.StatusCode(q & 0xFFFFFFFF)


# --- from OPC UA to readings ---------------------------------------------------------------------------

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def micros(moment: datetime.datetime) -> int:
    """A timestamp in integer microseconds since 1970 (a naive datetime is UTC, as asyncua gives it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - _EPOCH) // _MICROSECOND


def moment(x: int) -> datetime.datetime:
    """The UTC datetime of ``x`` microseconds since 1970."""
    return _EPOCH + x * _MICROSECOND


def json_value(value: Any) -> Any:
    """A Variant's value as JSON: numbers, strings, booleans and lists as they are; the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def reading(tag: Tag, value: ua.DataValue) -> Reading:
    """The reading of one DataValue: its source timestamp (else the server's), value and quality."""
    status = value.StatusCode if value.StatusCode is not None else ua.StatusCode(_S.Good)
    q = quality(status)
    at = value.SourceTimestamp or value.ServerTimestamp
    y = None
    if q == 0 or (q != LINK_LOST and status.is_uncertain()):
        y = json_value(value.Value.Value if value.Value is not None else None)
    return Reading(tag, y, x=None if at is None else micros(at), q=q)


def node_of(tag: Tag) -> ua.NodeId | None:
    """The node a tag's ``smtTagSource`` names (``{"node": "ns=2;s=Boiler.Temperature"}``), else ``None``.

    Raises ``ValueError`` naming the tag for a node id that is not one.
    """
    where = tag.attributes.source
    if not isinstance(where, dict) or "node" not in where:
        return None
    text = where["node"]
    try:
        if not isinstance(text, str):
            raise TypeError(f"a string, not {type(text).__name__}")
        return ua.NodeId.from_string(text)
    except Exception as exc:  # asyncua raises UaStringParsingError, ValueError and others
        raise ValueError(
            f"tag {tag.id!r}: smtTagSource node {text!r} is not an OPC UA node id "
            f"('ns=2;s=Boiler.Temperature', 'ns=3;i=1001'): {exc}"
        ) from None


# --- the connector ------------------------------------------------------------------------------------


class OpcUa(Connector):
    """Subscribes to each tag's node; reads the server's history for what it missed."""

    class Settings(pydantic.BaseModel):
        url: str = "opc.tcp://127.0.0.1:4840"
        publishing_interval: float = 0.5  # seconds between two notifications of the subscription
        queue_size: int = 1000  # data changes the server keeps per node between two notifications
        timeout: float = 4.0  # seconds a request to the server may take
        watchdog_interval: float = 1.0  # seconds between two checks that the server is still there
        first_backfill: float = 86_400.0  # seconds of history read for a tag the spool never held

    settings: Settings

    async def open(self, source: Source) -> None:
        self.subscription: Subscription | None = None
        self.handles: dict[ua.NodeId, int] = {}  # the monitored item of each node
        self.tags_of_node: dict[ua.NodeId, list[Tag]] = {}
        self.client = Client(
            self.settings.url,
            timeout=self.settings.timeout,
            watchdog_intervall=self.settings.watchdog_interval,
        )
        self.handler = _Handler(self, self.client)
        self.client.connection_lost_callback = self.handler.connection_lost
        try:  # a connect that fails closes its socket itself
            await self.client.connect()  # an OSError (refused, timed out) is tried again, with backoff
        except ua.UaError as exc:  # the server said no (too many sessions, say): try again too
            raise ConnectionError(f"{self.settings.url}: {exc}") from exc

    async def subscribe(self, tags: list[Tag]) -> None:
        """Monitor the node of every tag: after ``open``, and again when the tags change.

        When the tags change, only the nodes added or removed change, so that the others miss
        no data change meanwhile; a tag added is read from its watermark through ``backfill``.
        """
        wanted: dict[ua.NodeId, list[Tag]] = {}
        for tag in tags:
            try:
                node = node_of(tag)
            except ValueError as exc:
                self.log.error("%s: the tag gets no values", exc)
                continue
            if node is None:
                self.log.warning("tag %r: its smtTagSource names no OPC UA node: it gets no values", tag.id)
                continue
            wanted.setdefault(node, []).append(tag)
        self.tags_of_node = wanted
        try:
            if self.subscription is None:
                self.subscription = await self.client.create_subscription(
                    self.settings.publishing_interval * 1000, self.handler
                )
            for node in [node for node in self.handles if node not in wanted]:
                await self.subscription.unsubscribe(self.handles.pop(node))
            added = [node for node in wanted if node not in self.handles]
            results = (
                await self.subscription.subscribe_data_change(
                    [self.client.get_node(node) for node in added],
                    queuesize=self.settings.queue_size,
                    sampling_interval=0,  # every change, as the server sees it
                )
                if added
                else []
            )
        except ua.UaError as exc:  # the server refused the subscription: open it all again
            raise SourceLinkLost(f"{self.settings.url}: cannot subscribe: {exc}") from exc
        for node, result in zip(added, results, strict=True):
            if isinstance(result, ua.StatusCode):  # BadNodeIdUnknown, say
                names = ", ".join(repr(tag.id) for tag in wanted[node])
                self.log.error("node %s of %s cannot be monitored: %s", node.to_string(), names, result.name)
            else:
                self.handles[node] = result

    def data_change(self, node: Node, data: DataChangeNotif) -> None:
        """One data change of one node, handed on at once (to each tag that names the node)."""
        for tag in self.tags_of_node.get(node.nodeid, ()):
            try:
                self.emit(reading(tag, data.monitored_item.Value))
            except WriterClosedError:  # the run is stopping: the next start reads it from the history
                self.log.debug("tag %r: a data change after the stop began, left to the next start", tag.id)

    async def backfill(self, tag: Tag, since_x: int | None, until_x: int) -> AsyncIterator[Reading]:
        """HistoryReadRaw of the tag's node after ``since_x`` up to ``until_x``, page by page."""
        node = node_of(tag)
        if node is None:
            return
        first = until_x - int(self.settings.first_backfill * 1e6) if since_x is None else int(since_x) + 1
        details = ua.ReadRawModifiedDetails(
            IsReadModified=False,
            StartTime=moment(first),
            EndTime=moment(until_x + 1),  # servers differ on whether the end is included: filter below
            NumValuesPerNode=0,  # as many as the server gives per page; continuation points go on
            ReturnBounds=False,
        )
        continuation: bytes | None = None
        while True:
            result = await self.client.get_node(node).history_read(details, continuation)
            if result.StatusCode.value & _CODE_BITS in (
                _S.BadHistoryOperationUnsupported,
                _S.BadHistoryOperationInvalid,
            ):
                self.log.error(
                    "tag %r: node %s keeps no history: what was not received after %s is lost",
                    tag.id,
                    node.to_string(),
                    since_x,
                )
                return
            result.StatusCode.check()
            for value in result.HistoryData.DataValues or []:
                item = reading(tag, value)
                if isinstance(item.x, int) and first <= item.x <= until_x:
                    yield item
            continuation = result.ContinuationPoint
            if not continuation:
                return

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.client.disconnect(), self.settings.timeout)
        except Exception as exc:  # the link may be gone already: nothing to close then
            self.log.debug("disconnect: %s: %s", type(exc).__name__, exc)


class _Handler:
    """asyncua's callbacks for one connection; once it is lost, or replaced by a reopen, it says no more.

    (asyncua reports a lost connection twice, to ``connection_lost_callback`` and to each
    subscription's ``status_change_notification``: one reopen is enough.)
    """

    def __init__(self, connector: OpcUa, client: Client) -> None:
        self.connector = connector
        self.client = client
        self.lost = False

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        self.connector.data_change(node, data)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        if not status.Status.is_good():  # the server ended the subscription (it timed out, say)
            self._lose(f"the server ended the subscription: {status.Status.name}")

    async def connection_lost(self, error: Exception) -> None:
        self._lose(error)

    def _lose(self, error: Exception | str) -> None:
        if self.lost or self.client is not self.connector.client:
            return
        self.lost = True
        self.connector.link_lost(error)
        self.connector.reopen()  # the runtime closes, opens again with backoff, and subscribes


# --- the demo: asyncua's server with history, the reference platform, the connector --------------------

#: The simulated boiler's nodes and the tags that read them.
NODES = {"temperature": "Boiler.Temperature", "pressure": "Boiler.Pressure", "counter": "Boiler.Counter"}
SOURCE = "opcua"
CONFIG = {
    "dataSources": {
        SOURCE: {
            "attributes": {"smtActive": True},
            "tags": [
                {
                    "id": tag,
                    "attributes": {
                        "smtTagValueTypeCode": 0 if tag == "counter" else 1,
                        "smtTagSource": f'{{"node": "ns=2;s={name}"}}',
                    },
                }
                for tag, name in NODES.items()
            ],
        }
    }
}
"""The reference platform's configuration for the demo: data source "opcua" and its three tags."""


class History(HistoryStorageInterface):
    """The server's history in memory, kept across a stop and a start of the server (a historian's disk)."""

    def __init__(self) -> None:
        super().__init__(max_history_data_response_size=1000)  # small pages: continuation points work
        self.values: dict[ua.NodeId, list[ua.DataValue]] = {}
        self.lock = threading.Lock()  # read from other threads by the demo and the tests

    async def init(self) -> None:
        pass  # nothing to open: it lives in memory

    async def stop(self) -> None:
        pass  # kept for the next start of the server

    async def new_historized_node(
        self, node_id: ua.NodeId, period: datetime.timedelta | None, count: int = 0
    ) -> None:
        with self.lock:
            self.values.setdefault(node_id, [])

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        with self.lock:
            self.values.setdefault(node_id, []).append(datavalue)

    async def read_node_history(
        self,
        node_id: ua.NodeId,
        start: datetime.datetime | None,
        end: datetime.datetime | None,
        nb_values: int,
    ) -> tuple[list[ua.DataValue], datetime.datetime | None]:
        low = start if start is not None and start != ua.get_win_epoch() else None
        high = end if end is not None and end != ua.get_win_epoch() else None
        with self.lock:
            found = [
                value
                for value in self.values.get(node_id, [])
                if value.SourceTimestamp is not None
                and (low is None or value.SourceTimestamp >= low)
                and (high is None or value.SourceTimestamp < high)
            ]
        page = min(nb_values or self.max_history_data_response_size, self.max_history_data_response_size)
        if len(found) > page:  # the next page starts at the first value left out
            return found[:page], found[page].SourceTimestamp
        return found, None

    def settle(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Return once no value was added for ``quiet`` seconds (at most ``timeout``).

        The server puts a value in its history through a subscription of its own, a publish cycle
        after the value was written: a round of writes under way lands a little later.
        """
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self.lock:
                count = sum(len(values) for values in self.values.values())
            if count != last:
                last, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def samples(self, name: str) -> dict[int, Any]:
        """The history of one node of the boiler: ``{x: y}``."""
        with self.lock:
            values = list(self.values.get(ua.NodeId(name, 2), []))
        return {micros(v.SourceTimestamp): v.Value.Value for v in values if v.SourceTimestamp is not None}


class Boiler:
    """asyncua's server in a thread of its own, its nodes changing every ``period`` seconds, history on.

    ``stop()`` and ``start()`` switch it off and on (the same port, the same history).
    """

    def __init__(self, port: int, period: float = 0.1) -> None:
        self.port = port
        self.period = period
        self.url = f"opc.tcp://127.0.0.1:{port}/"
        self.history = History()
        self.simulating = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        """Start the server; return once it listens."""
        started = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(started, errors), daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise TimeoutError("the OPC UA server did not start in 30 s")
        if errors:
            raise errors[0]

    def stop_simulating(self) -> None:
        """Stop changing the nodes; return once the last change is in the history, which stays whole."""
        self.simulating = False
        self.history.settle(quiet=max(0.5, 5 * self.period))

    def stop(self) -> None:
        """Stop the server (its clients lose the link); return once it is stopped."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(30)
        self._loop = self._thread = self._stopped = None

    def samples(self) -> dict[str, dict[int, Any]]:
        """Per tag, the samples the server's history holds: ``{x: y}``."""
        return {tag: self.history.samples(name) for tag, name in NODES.items()}

    def _run(self, started: threading.Event, errors: list[BaseException]) -> None:
        try:
            asyncio.run(self._serve(started))
        except BaseException as exc:
            errors.append(exc)
            started.set()

    async def _serve(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server = Server()
        server.iserver.history_manager.set_storage(self.history)
        await server.init()
        server.set_endpoint(self.url)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace("urn:example:boiler")
        boiler = await server.nodes.objects.add_object(ua.NodeId("Boiler", index), "Boiler")
        nodes = {
            name: await boiler.add_variable(ua.NodeId(name, index), name.split(".")[1], _value(name, 0))
            for name in NODES.values()
        }
        async with server:
            for node in nodes.values():
                await server.historize_node_data_change(node, period=None)
            started.set()
            while not self._stopped.is_set():
                if self.simulating:
                    now = datetime.datetime.now(datetime.UTC)
                    for name, node in nodes.items():
                        variant = ua.Variant(_value(name, micros(now)), _TYPES[name])
                        await node.write_value(
                            ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self.period)
        # asyncua closes its connections before its listening socket: one accepted in between
        # would stay open with nobody answering. Close it, as a server switched off does.
        for transport in list(server.iserver.asyncio_transports):
            transport.close()


_TYPES = {
    "Boiler.Temperature": ua.VariantType.Double,
    "Boiler.Pressure": ua.VariantType.Double,
    "Boiler.Counter": ua.VariantType.Int64,
}


def _value(name: str, x: int) -> Any:
    """The simulated boiler at ``x``: temperature and pressure waves, a counter of hundredths of a second."""
    seconds = x / 1e6
    if name == "Boiler.Temperature":
        return 60 + 5 * math.sin(seconds / 5)
    if name == "Boiler.Pressure":
        return 12 + 3 * math.cos(seconds / 7)
    return x // 10_000


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    from data_interaction_client.emulator._server import listen

    with listen("127.0.0.1", 0) as sock:
        port: int = sock.getsockname()[1]
    return port


def compare(held: dict[str, dict[int, Any]], arrived: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per tag: the samples the history holds, those that arrived (good, same x, same y), the missing ones."""
    report: dict[str, Any] = {}
    for tag, samples in held.items():
        good = {p["x"]: p["y"] for p in arrived[tag] if not p["q"]}
        matched = [x for x, y in samples.items() if x in good and good[x] == y]
        report[tag] = {
            "history": len(samples),
            "arrived": len(matched),
            "missing": sorted(set(samples) - set(matched)),
            "link_lost_marks": sum(1 for p in arrived[tag] if p["q"] == LINK_LOST),
            "not_in_history": sorted(set(good) - set(samples)),
        }
    return report


class _Demo(OpcUa):
    """The connector, remembered so that the demo can stop it."""

    instances: ClassVar[list[_Demo]] = []

    async def open(self, source: Source) -> None:
        type(self).instances.append(self)
        await super().open(source)


@contextlib.contextmanager
def _spool() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="opcua-spool-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def demo(seconds: float) -> dict[str, Any]:
    """Run the server, the platform and the connector together for ``seconds``; compare (`compare`)."""
    from data_interaction_client.emulator import run_platform

    boiler = Boiler(free_port())
    boiler.start()
    try:
        with run_platform(config=CONFIG) as platform, _spool() as spool:
            options: dict[str, Any] = {
                "url": platform.url,
                "source": SOURCE,
                "spool": spool,
                "settings": {"url": boiler.url, "publishing_interval": 0.2},
                "writer": {"flush_interval": 0.2},
            }
            _Demo.instances.clear()
            runner = threading.Thread(target=_Demo.run, kwargs=options, daemon=True)
            runner.start()
            time.sleep(seconds)
            boiler.stop_simulating()  # the history is complete: let the last notifications arrive
            time.sleep(1.0)
            for instance in _Demo.instances[-1:]:
                instance.stop()
            runner.join(60)
            arrived = {tag: platform.stored_points(tag) for tag in NODES}
            return compare(boiler.samples(), arrived)
    finally:
        boiler.stop()


def main(seconds: float) -> int:
    """The demo's report, one line per tag; 0 when every sample of the history arrived."""
    report = demo(seconds)
    for tag, row in report.items():
        print(
            f"{tag}: the server's history holds {row['history']} samples, {row['arrived']} arrived"
            f" ({len(row['missing'])} missing, {row['link_lost_marks']} link-lost marks)"
        )
    return 0 if all(not row["missing"] and not row["not_in_history"] for row in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0))
