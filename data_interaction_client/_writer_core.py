"""Everything the sync and async writers share: options, intake, policies, batching, error handling, stats.

The two writers (`_writer`) add only the I/O and the waiting: a thread or an asyncio task that
commits, another that sends, and how a caller waits for ``sync`` and ``flush``.

How points flow: ``write*`` checks each point on the caller's thread and appends it to the tag's
intake (no I/O): ``write`` and ``write_tags`` as dicts, ``write_points`` already encoded (its points
are many: encoding them at once keeps the intake small, and the committer's work to the disk). The
committer takes the intake at least every ``commit_interval`` (sooner once ``batch_points`` are
waiting, or when asked), lays it out in records of at most ``batch_points`` points (encoding the
dicts) and appends them to the spool in one transaction: all that waits, whatever its size, so that
a thread writing flat out gets few, large commits. The sender takes the oldest records (up to
``batch_points`` points; once ``batch_points`` are pending, once the oldest has waited
``flush_interval``, or when asked), joins them into one request, and settles them with the spool:
accepted records leave it in one transaction; refused parts go to the quarantine in the same one.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

import orjson

from ._base_client import BaseClient
from ._columns import check_columns
from ._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP, WRITER_INITIAL_RETRY_DELAY
from ._exceptions import (
    ClientClosedError,
    InvalidInputError,
    InvalidPointError,
    PlatformError,
    SpoolError,
    WriterClosedError,
    WriterFullError,
    WriterTimeoutError,
)
from ._points import MAX_INT, MIN_INT, PointRules, check_points, point
from ._results import Columns
from ._retry import Failure, backoff, classify
from ._spool import AppendResult, MemorySpool, NewRecord, Record, Spool
from ._tag import Tag, TagAttributes
from ._types import NOT_GIVEN, NotGiven, PointDict, TagId, TagIdLike, tag_id_from, tag_id_to_wire
from ._writer_delivery import Delivery, Verdict, describe, unexpected, unreachable
from ._writer_options import (
    Health,
    QuarantinedBatch,
    Settings,
    WriteEvent,
    WriterStats,
    flag,
    seconds,
    settings_from,
)
from ._writer_policies import TagPolicy, make_policy
from ._writer_records import Encoded, Piece, RecordError, decode_points, encode_chunks, encode_records

__all__ = ["INTAKE_BYTES", "INTAKE_CAP", "WriterCore", "client_closed"]

log = logging.getLogger("data_interaction_client.writer")

_MAX_TAG_OBJECTS = 65_536
"""Tag objects remembered for a quick lookup; beyond this many, they are looked up by id."""
_STORE_RETRY_DELAY = 1.0
"""Seconds between retries of a commit the spool refused (full disk)."""
_DROP_LOG_INTERVAL = 10.0
"""At most one WARNING per this many seconds about points dropped for room."""
_ENCODE_AT = 64
"""Points of one write_points call from which they are encoded on the caller's thread."""
_INITIAL_BYTES_PER_POINT = 48
"""Spool bytes per point assumed before the first commit measures it."""
INTAKE_CAP = 20_000
"""Points the intake may hold before a sync writer's write waits for the committer to take them: a thread
writing flat out (a million points a second) outruns encoding and the disk, and without this bound the
points pending would pile up in memory instead of on disk."""
INTAKE_BYTES = 8 * 1024 * 1024
"""Bytes of points encoded by ``write_points`` the intake may hold before a sync writer's ``write_points``
waits for the committer: enough for the committer to take large bites (one commit per disk flush), little
next to the points a caller gives at once."""


# The writers of each client, told when it is closed (a weak map: neither is kept alive by it).
_writers_of: weakref.WeakKeyDictionary[object, weakref.WeakSet[WriterCore]] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def client_closed(client: object) -> None:
    """Tell the writers made by ``client`` that it was closed: they take no more points, send nothing."""
    with _writers_lock:
        writers = list(_writers_of.pop(client, ()))
    for writer in writers:
        writer._client_gone()


class _TagEntry:
    """A tag the writer has seen: its id, the intake of its points and its policy.

    The intake of a tag is ``encoded`` (from ``write_points``), then ``buffer`` (dicts), in write
    order: once ``buffer`` holds points, ``write_points`` appends dicts to it too.
    """

    __slots__ = ("attributes", "buffer", "encoded", "overrides", "policy", "rules", "tag_id", "wire")

    def __init__(self, tag_id: TagId, attributes: TagAttributes | None) -> None:
        self.tag_id = tag_id
        self.wire = tag_id_to_wire(tag_id)
        self.attributes = attributes
        self.buffer: list[PointDict] = []
        self.encoded: list[Encoded] = []
        self.policy: TagPolicy | None = None
        self.overrides: dict[str, Any] = {}
        self.rules = PointRules(tag_id)


class _Take:
    """The intake taken for one commit: each tag's points, and the count of points written by then."""

    __slots__ = ("groups", "mark", "points")

    def __init__(
        self, groups: list[tuple[str | dict[str, str], list[PointDict] | Encoded]], points: int, mark: int
    ) -> None:
        self.groups = groups
        self.points = points
        self.mark = mark


class _Watermarks:
    """Each tag's last x in the spool, and those of the records being committed (the lock held)."""

    __slots__ = ("due", "stored")

    def __init__(self, stored: dict[str, bytes]) -> None:
        self.stored = stored
        self.due: dict[str, bytes] = {}

    def stored_due(self) -> None:
        """The spool took the records the due watermarks follow."""
        self.stored.update(self.due)
        self.due = {}


class WriterCore:
    """The writer's state and every step that does no I/O; `Writer` and ``AsyncWriter`` add the I/O."""

    _intake_cap = sys.maxsize
    """Points (as dicts) and bytes (encoded) the intake holds before a write waits for the committer: no
    limit unless the writer can wait (the sync one sets INTAKE_CAP and INTAKE_BYTES)."""
    _intake_bytes_cap = sys.maxsize

    def __init__(self, client: BaseClient[Any], spool: object, options: Mapping[str, Any]) -> None:
        settings = settings_from(spool, options, client)
        self._client = client  # for client_closed() only: everything else goes through the link
        self._settings = settings
        self._link = client._writer_link(settings.timeout, settings.max_retries)
        self._lock = threading.Lock()
        self._entries: dict[object, _TagEntry] = {}
        # Intake: the tags with points waiting for the committer, and counts.
        self._dirty: list[_TagEntry] = []
        self._intake = 0
        self._intake_since = 0.0
        self._written = 0
        self._wake_at = settings.batch_points
        self._room = sys.maxsize  # intake points allowed before _admit is asked (the fast path)
        self._policy_room = sys.maxsize  # intake points allowed before the overflow policy applies
        self._intake_bytes = 0  # bytes of the encoded points in the intake
        self._closing = False
        self._closed = False
        self._client_closed = False  # the client was closed: nothing more is taken or sent
        self._gave_up = False  # closing, the platform could not be reached: nothing more is sent
        # Committing.
        self._committed = 0  # points written (counted by _written) that are in the spool
        self._committing = 0  # points taken by the committer, not yet in the spool
        self._commit_now = False
        self._last_take = time.monotonic()
        self._unsaved: list[NewRecord] = []  # records the spool refused, kept to try again
        self._unsaved_points = 0
        self._unsaved_mark = 0
        self._refusal: SpoolError | None = None  # the spool's failure, while it lasts
        self._refusals = 0  # failed attempts to store, counted (a sync waits for the next one)
        self._store_retry_at = 0.0
        self._sweep_after = 0.0
        self._bytes_per_point = _INITIAL_BYTES_PER_POINT
        # Sending.
        self._flush_through = 0  # send at once while records up to this id are pending
        self._failures = 0
        self._failing_since = 0.0
        self._last_error: str | None = None
        self._send_health: Health = "ok"
        self._failed_callbacks: set[str] = set()  # callbacks that raised (logged once each)
        # Stats.
        self._sent_points = 0
        self._sent_batches = 0
        self._dropped: dict[str, int] = {}
        self._refused_points = 0
        self._refusing = False  # the last write was refused for want of room
        self._dropping = False  # the last commit dropped the oldest points for room
        self._dropped_since_log = 0
        self._drop_logged_at = -math.inf
        self._spool: Spool = MemorySpool() if settings.spool is None else _disk_spool(settings)
        self._watermarks = _Watermarks(self._spool.states())
        self._update_room()
        self._start_clock()
        self._opened(client)

    def _opened(self, client: BaseClient[Any]) -> None:
        """Register with the client (which closes its writers' intake when it closes); say what is left."""
        with _writers_lock:
            _writers_of.setdefault(client, weakref.WeakSet()).add(self)
        if self._spool.batches:
            log.info(
                "spool %s holds %d points in %d batches from before: sending them first",
                self._settings.spool,
                self._spool.points,
                self._spool.batches,
            )

    def _start_clock(self) -> None:
        """Start the records' clock: ``_appended`` and ``_from_before``.

        ``_appended`` keeps when records were appended, on the monotonic clock (a wall-clock jump
        neither stalls sending nor distorts ages): (the last id of an append, its time), oldest
        first. ``_from_before`` is the last id of the records found in the spool at start (0: none):
        they are due at once; their age starts from the wall clock's reading of it now, once.
        """
        spool = self._spool
        self._appended: deque[tuple[int, float]] = deque()
        self._from_before = spool.last_id if spool.batches else 0
        if self._from_before:
            created = spool.oldest_created
            age = 0.0 if created is None else max(0.0, time.time() - created)
            self._appended.append((spool.last_id, time.monotonic() - age))

    # --- what the sync and async writers provide --------------------------------------------------

    def _signal(self, *, commit: bool = False, send: bool = False, progress: bool = False) -> None:
        """Wake the committer, the sender, or those waiting for progress (called under the lock)."""
        raise NotImplementedError

    def _wait_for_room(self, seconds: float) -> None:
        """Wait (the lock held, released while waiting) until room may have been made."""
        raise NotImplementedError

    # --- intake: the caller's thread, no I/O -------------------------------------------------------

    def write(self, tag: Tag | TagIdLike, x: Any, y: Any, q: int | None = None) -> None:
        """Take one point: ``tag`` (a `Tag` or a tag id), timestamp ``x``, value ``y``, quality ``q``.

        Without ``q`` the point has no quality code (``null``, a good value), as everywhere in the SDK.

        The point is checked now ([`InvalidPointError`][data_interaction_client.InvalidPointError] if bad) and
        never waits on the network. Raises [`WriterFullError`][data_interaction_client.WriterFullError] when
        the writer is full (``overflow="raise"``, or ``"block"`` after ``block_timeout``),
        [`SpoolDiskFullError`][data_interaction_client.SpoolDiskFullError] while the disk is full and
        [`WriterClosedError`][data_interaction_client.WriterClosedError] once closed; then the point was not
        kept.
        """
        try:
            entry = self._entries[tag]
        except (KeyError, TypeError):
            entry = self._entry_for(tag)
        ty = type(y)
        # The common case inline, as Tag.add_data has it (a live loop calls this for every point):
        # an integer timestamp in microseconds, a plain value of the tag's type, an integer quality;
        # anything else is checked completely by point().
        checked: PointDict | None
        if (
            type(x) is int
            and SMALL_TIMESTAMP <= x <= MAX_TIMESTAMP
            and ty in entry.rules.fast_y
            and (q is None or (type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY))
            and (ty is not float or y - y == 0.0)
            and (ty is not int or MIN_INT <= y <= MAX_INT)
            and (ty is not str or y.isascii())
        ):
            checked = {"x": x, "y": y, "q": q}
        else:
            checked = point(entry.rules, x, y, q)
        policy = entry.policy
        if policy is not None:
            checked = policy.apply(entry.tag_id, None, checked)
            if checked is None:
                with self._lock:
                    self._dropped["deadband"] = self._dropped.get("deadband", 0) + 1
                return
        with self._lock:
            intake = self._intake
            if intake >= self._room:
                self._admit(1)
                intake = self._intake  # the committer may have taken the intake meanwhile
            buffer = entry.buffer
            if not buffer and not entry.encoded:
                if not self._dirty:  # the first point since the last commit: start its clock
                    self._intake_since = time.monotonic()
                    self._signal(commit=True)
                self._dirty.append(entry)
            buffer.append(checked)
            self._intake = intake = intake + 1
            self._written += 1
            if intake >= self._wake_at:
                self._wake_at = sys.maxsize  # once, until the committer takes the intake
                self._signal(commit=True)

    def write_points(self, tag: Tag | TagIdLike, points: Any) -> int:
        """Take many points for ``tag``; return how many were kept (the deadband may drop some).

        ``points`` is what [`Tag.update`][data_interaction_client.Tag.update] takes (dicts ``{"x", "y", "q"}``
        or tuples ``(x, y[, q])``), a [`Columns`][data_interaction_client.Columns] ``(x, y, q)``, or a pandas
        ``DataFrame`` with the columns ``x``, ``y`` and optionally ``q``. Every point is checked first: on a
        bad one ([`InvalidPointError`][data_interaction_client.InvalidPointError], naming its index) none is
        kept. Otherwise as `write`, all the points or none.
        """
        try:
            entry = self._entries[tag]
        except (KeyError, TypeError):
            entry = self._entry_for(tag)
        checked = _check_many(entry.rules, points)
        policy = entry.policy
        dropped = 0
        if policy is not None and checked:
            checked, dropped = policy.apply_many(entry.tag_id, checked)
        encoded: list[Encoded] = []
        if len(checked) >= _ENCODE_AT and not entry.buffer:  # (looked at again under the lock)
            encoded, problems = encode_chunks(checked, self._settings.batch_points)
            if problems:  # a dict changed while it was checked: say which, keep none
                index, why = problems[0]
                raise InvalidPointError(entry.tag_id, index, None, f"cannot be encoded ({why})")
        with self._lock:
            if dropped:
                self._dropped["deadband"] = self._dropped.get("deadband", 0) + dropped
            if encoded and not entry.buffer:
                self._take_encoded(entry, encoded, len(checked))
            else:
                self._take_in(entry, checked)
        return len(checked)

    def write_tags(self, tags: Tag | Iterable[Tag]) -> int:
        """Move the points buffered in ``tags`` into the writer (their buffers are emptied); return how many.

        The points were checked when they were given to the tags. Raises
        [`TagBusyError`][data_interaction_client.TagBusyError] if a tag is being sent by ``set_data``; when
        the writer refuses the points (full, disk full, closed) they stay in their tags.
        """
        given = [tags] if isinstance(tags, Tag) else list(tags)
        for tag in given:
            if not isinstance(tag, Tag):
                raise InvalidInputError(f"write_tags takes a Tag or a list of Tag, not {type(tag).__name__}")
        taken: list[tuple[Tag, list[PointDict]]] = []
        try:
            for tag in dict.fromkeys(given):  # the Tag buffer protocol, as set_data uses it
                points = tag._claim()  # TagBusyError while set_data sends the tag
                if points:
                    taken.append((tag, points))
            prepared = []
            for tag, points in taken:
                entry = self._entry_for(tag)
                kept, dropped = (
                    entry.policy.apply_many(entry.tag_id, points) if entry.policy is not None else (points, 0)
                )
                prepared.append((entry, kept, dropped))
            with self._lock:
                self._admit_many(sum(len(kept) for _, kept, _ in prepared))
                for entry, kept, dropped in prepared:
                    if dropped:
                        self._dropped["deadband"] = self._dropped.get("deadband", 0) + dropped
                    self._take_in(entry, kept, checked_room=True)
        except BaseException:
            for tag, _ in taken:  # refused: the points go back, before any given since
                tag._restore()
            raise
        for tag, points in taken:  # taken: they leave the tags
            tag._settle(len(points))
        return sum(len(points) for _, points in taken)

    def write_frame(self, frame: Any, *, form: Literal["long", "wide"] = "long") -> int:
        """Take the points of a pandas or polars frame; return how many were taken.

        ``form="long"``: the columns ``tag``, ``x``, ``y`` and optionally ``q``; ``form="wide"``: ``x``
        and one column per tag, as
        [`DataInteractionClient.set_frame`][data_interaction_client.DataInteractionClient.set_frame] takes
        them. Every row is checked first ([`InvalidPointError`][data_interaction_client.InvalidPointError]
        names its tag, its position and the field): on a bad one none is taken. Otherwise as `write_tags`.
        """
        from ._frames import frame_tags  # pandas and polars are optional: only frames need them

        chunks = list(
            frame_tags(frame, form=form, chunk_size=self._settings.batch_points, make_tag=self._link.tag)
        )
        return sum(self.write_tags(tags) for tags in chunks)

    def set_policy(
        self,
        tag: Tag | TagIdLike,
        *,
        scale: bool | NotGiven = NOT_GIVEN,
        deadband: bool | NotGiven = NOT_GIVEN,
        max_interval: float | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Set the tag policies of one tag, overriding the writer's ``scale``, ``deadband``, ``max_interval``.

        The policies use the tag's attributes, so give a [`Tag`][data_interaction_client.Tag] from
        ``create_tags`` (a tag id alone has none, and nothing is applied). The deadband starts afresh.
        """
        overrides: dict[str, Any] = {}
        if not isinstance(scale, NotGiven):
            overrides["scale"] = flag("scale", scale)
        if not isinstance(deadband, NotGiven):
            overrides["deadband"] = flag("deadband", deadband)
        if not isinstance(max_interval, NotGiven):
            overrides["max_interval"] = (
                None if max_interval is None else seconds("max_interval", max_interval, zero_ok=False)
            )
        entry = self._entry_for(tag)
        with self._lock:
            entry.overrides.update(overrides)
            entry.policy = self._policy(entry)

    def _policy(self, entry: _TagEntry) -> TagPolicy | None:
        settings = self._settings
        overrides = entry.overrides
        return make_policy(
            entry.attributes,
            scale=overrides.get("scale", settings.scale),
            deadband=overrides.get("deadband", settings.deadband),
            max_interval=overrides.get("max_interval", settings.max_interval),
        )

    def _rules(self, entry: _TagEntry) -> PointRules:
        """How the points of ``entry`` are checked: the client's precision, the tag's value type."""
        link = self._link
        value_type = None if entry.attributes is None else entry.attributes.get("smtTagValueTypeCode")
        return PointRules(
            entry.tag_id, value_type=value_type, precision=link.precision, check_values=link.check_values
        )

    def _entry_for(self, tag: object) -> _TagEntry:
        """The entry of a tag given as a `Tag` or an id, made on first sight (the slow path)."""
        if isinstance(tag, Tag):
            key: TagId = tag.id
            attributes: TagAttributes | None = tag.attributes
        else:
            key = tag_id_from(tag)
            attributes = self._link.attributes(key)  # those create_tags was given
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _TagEntry(key, attributes)
                entry.policy = self._policy(entry)
                entry.rules = self._rules(entry)
            elif attributes and entry.attributes is None:
                entry.attributes = attributes
                entry.policy = self._policy(entry)
                entry.rules = self._rules(entry)
            if isinstance(tag, Tag) and len(self._entries) < _MAX_TAG_OBJECTS:
                self._entries[tag] = entry
        return entry

    def _take_in(self, entry: _TagEntry, points: list[PointDict], checked_room: bool = False) -> None:
        """Append checked points to the intake (the lock held)."""
        count = len(points)
        if not count:
            return
        if not checked_room and self._intake + count > self._room:
            self._admit(count)
        if not entry.buffer:
            if not self._dirty:
                self._intake_since = time.monotonic()
                self._signal(commit=True)
            if not entry.encoded:
                self._dirty.append(entry)
            entry.buffer = points
        else:
            entry.buffer.extend(points)
        self._intake += count
        self._written += count
        if self._intake >= self._wake_at:
            self._wake_at = sys.maxsize
            self._signal(commit=True)

    def _take_encoded(self, entry: _TagEntry, encoded: list[Encoded], count: int) -> None:
        """Append encoded points to the intake, before any dict of the tag (the lock held)."""
        size = sum(len(chunk.data) for chunk in encoded)
        if self._intake + count > self._room or self._intake_bytes + size > self._intake_bytes_cap:
            self._admit(count, size)
        if not entry.encoded and not entry.buffer:
            if not self._dirty:
                self._intake_since = time.monotonic()
                self._signal(commit=True)
            self._dirty.append(entry)
        entry.encoded += encoded
        self._intake += count
        self._intake_bytes += size
        self._written += count
        if self._intake >= self._wake_at:
            self._wake_at = sys.maxsize
            self._signal(commit=True)

    def _admit_many(self, count: int) -> None:
        if count and self._intake + count > self._room:
            self._admit(count)

    def _admit(self, count: int, size: int | None = None) -> None:
        """Make room for ``count`` points as the overflow policy says, or raise (the lock held).

        ``size``: the bytes of the points, when they come encoded (their room in the intake is
        counted in bytes, that of dicts in points).
        """
        deadline: float | None = None
        while True:
            if self._client_closed:
                raise WriterClosedError(self._client_closed_message())
            if self._closing:
                raise WriterClosedError("the writer is closed: it takes no more points")
            if self._refusal is not None:
                self._refused_points += count
                raise type(self._refusal)(
                    f"{self._refusal.args[0]} ({count} points of this call were not kept)",
                    path=self._refusal.path,
                )
            if self._intake and (
                self._intake + count > self._intake_cap
                if size is None
                else self._intake_bytes + size > self._intake_bytes_cap
            ):
                # The committer is behind: have it take the intake now (not after commit_interval),
                # and wait until it has.
                self._commit_now = True
                self._signal(commit=True)
                self._wait_for_room(1.0)
                continue
            if self._intake + count <= self._policy_room:
                return
            settings = self._settings
            limit = (
                f"max_pending_points={settings.max_pending_points}"
                if settings.spool is None
                else f"max_spool_bytes={settings.max_spool_bytes}"
            )
            if count > self._capacity():
                self._refused_points += count
                raise WriterFullError(
                    f"{count} points in one call are more than the writer can ever hold ({limit}): "
                    "give fewer at a time, or raise the limit",
                    points=count,
                )
            if settings.overflow == "block":
                now = time.monotonic()
                if deadline is None:
                    deadline = now + settings.block_timeout
                if now < deadline:
                    self._wait_for_room(deadline - now)
                    continue
            self._refused_points += count
            if not self._refusing:
                self._refusing = True
                log.warning(
                    "the writer is full (%s, %d points pending): refusing points until the platform "
                    "accepts some",
                    limit,
                    self._pending_points(),
                )
            waited = f" after waiting {settings.block_timeout:g} s" if settings.overflow == "block" else ""
            raise WriterFullError(
                f"the writer is full ({limit}, {self._pending_points()} points pending){waited}: "
                f"{count} points of this call were not kept; the platform has not accepted points fast "
                "enough (see w.stats())",
                points=count,
            )

    def _capacity(self) -> int:
        settings = self._settings
        if settings.spool is None:
            return settings.max_pending_points
        return settings.max_spool_bytes // self._bytes_per_point

    def _update_room(self) -> None:
        """Recompute how many points the intake may take before the overflow policy applies (lock held)."""
        settings = self._settings
        if self._closing or self._client_closed or self._refusal is not None:
            self._room = -1
            return
        if settings.overflow == "drop_oldest":
            room = sys.maxsize
        elif settings.spool is None:
            held = self._spool.points + self._unsaved_points + self._committing
            room = settings.max_pending_points - held
        else:
            unsaved = sum(record.size for record in self._unsaved)
            free = settings.max_spool_bytes - self._spool.bytes - unsaved
            room = free // self._bytes_per_point - self._committing
        self._policy_room = room
        self._room = min(room, self._intake_cap)  # encoded intake: checked against its bytes too
        if self._refusing and self._intake < room:
            self._refusing = False
            log.info("the writer has room again (%d points pending)", self._pending_points())

    # --- committing: no I/O here; the writers call the spool -------------------------------------

    def _commit_wait(self, now: float) -> float | None:
        """Seconds until the next commit is due: 0 now, ``None`` when there is nothing to commit."""
        if self._unsaved:
            return max(0.0, self._store_retry_at - now)
        if not self._intake:
            return None
        if self._commit_now or self._closing or self._intake >= self._settings.batch_points:
            return 0.0
        return max(0.0, self._last_take + self._settings.commit_interval - now)

    def _sweep_due(self) -> bool:
        """Whether the idle committer should tidy the spool (delete delivered rows) now (lock held)."""
        return self._spool.needs_sweep and time.monotonic() >= self._sweep_after

    def _sweep_failed(self, error: SpoolError) -> None:
        log.warning("the writer could not tidy its spool (%s); it tries again later", error)
        self._sweep_after = time.monotonic() + _STORE_RETRY_DELAY

    def _take(self) -> _Take:
        """Take the intake for a commit (the lock held)."""
        groups: list[tuple[str | dict[str, str], list[PointDict] | Encoded]] = []
        for entry in self._dirty:
            wire = entry.wire
            if entry.encoded:
                groups += [(wire, chunk) for chunk in entry.encoded]
                entry.encoded = []
            if entry.buffer:
                groups.append((wire, entry.buffer))
                entry.buffer = []
        self._dirty = []
        self._intake_bytes = 0
        take = _Take(groups, self._intake, self._written)
        self._committing += self._intake
        self._intake = 0
        self._commit_now = False
        self._wake_at = self._settings.batch_points
        self._last_take = time.monotonic()
        if self._intake_cap != sys.maxsize:
            self._signal(progress=True)  # a write waiting for the intake to be taken may go on
        return take

    def _encode(self, take: _Take) -> list[NewRecord]:
        """The records of a take (no lock: this is the CPU part of a commit)."""
        records, problems = encode_records(take.groups, self._settings.batch_points)
        # Each tag's last x, committed with its points: what the writer holds for the tag goes
        # up to there (resume points for a connector).
        states = {
            _state_key(wire): points.last_x if isinstance(points, Encoded) else orjson.dumps(points[-1]["x"])
            for wire, points in take.groups
            if points
        }
        for wire, index, problem in problems:
            log.error(
                "point %d given for tag %r could not be encoded (%s): it was changed after it was given; "
                "dropped",
                index,
                wire,
                problem,
            )
        with self._lock:
            self._watermarks.due.update(states)
            if problems:
                self._dropped["invalid"] = self._dropped.get("invalid", 0) + len(problems)
                self._committing -= len(problems)
                take.points -= len(problems)
        return records

    def _append_args(self, records: list[NewRecord]) -> tuple[list[NewRecord], dict[str, Any]]:
        """What to append (records refused before come first) and the limit (the lock held)."""
        settings = self._settings
        limit: dict[str, Any] = {}
        if settings.overflow == "drop_oldest":
            if settings.spool is None:
                limit["max_points"] = settings.max_pending_points
            else:
                limit["max_bytes"] = settings.max_spool_bytes
        if self._watermarks.due:
            limit["states"] = dict(self._watermarks.due)
        return self._unsaved + records, limit

    def _stored(self, take: _Take | None, records: list[NewRecord], result: AppendResult | None) -> None:
        """The spool took the records (the lock held)."""
        if take is not None:
            self._committing -= take.points
            self._committed = take.mark
        elif self._unsaved:
            self._committed = max(self._committed, self._unsaved_mark)
        self._watermarks.stored_due()
        points = sum(r.points for r in records)
        if points:
            self._bytes_per_point = max(1, sum(r.size for r in records) // points)
        if result is not None:
            self._appended.append((result.last, time.monotonic()))
        self._unsaved = []
        self._unsaved_points = 0
        if self._refusal is not None:
            log.info("the spool %s takes points again", self._settings.spool)
            self._refusal = None
        if result is not None and result.dropped_points:
            self._note_drop(result.dropped_points)
        else:
            self._dropping = False
        self._update_room()
        self._signal(send=True, progress=True)

    def _note_drop(self, points: int) -> None:
        self._dropping = True
        self._dropped["overflow"] = self._dropped.get("overflow", 0) + points
        self._dropped_since_log += points
        now = time.monotonic()
        if now - self._drop_logged_at >= _DROP_LOG_INTERVAL:
            settings = self._settings
            limit = (
                f"max_pending_points={settings.max_pending_points}"
                if settings.spool is None
                else f"max_spool_bytes={settings.max_spool_bytes}"
            )
            log.warning(
                "the writer is full (%s): dropped the %d oldest pending points to keep the newest "
                "(%d dropped so far; overflow='drop_oldest')",
                limit,
                self._dropped_since_log,
                self._dropped["overflow"],
            )
            self._drop_logged_at = now
            self._dropped_since_log = 0

    def _store_failed(self, take: _Take | None, records: list[NewRecord], error: SpoolError) -> None:
        """The spool refused the records: keep them to retry, refuse new points meanwhile (lock held)."""
        if take is not None:
            self._committing -= take.points
            self._unsaved.extend(records)
            self._unsaved_points += take.points
            self._unsaved_mark = take.mark
        if self._refusal is None:
            log.error(
                "%s; %d points taken before are kept in memory and stored once it can; new points are "
                "refused meanwhile",
                error.args[0],
                self._unsaved_points,
            )
        self._refusal = error
        self._refusals += 1
        self._store_retry_at = time.monotonic() + _STORE_RETRY_DELAY
        self._update_room()
        self._signal(progress=True)

    # --- sending: no I/O here; the writers call the spool and the client --------------------------

    def _send_wait(self, now: float) -> float | None:
        """Seconds until the next send is due: 0 now, ``None`` when nothing is pending (the lock held).

        ``now`` is the monotonic clock's: so is every time the writer measures.
        """
        spool = self._spool
        if not spool.batches or self._client_closed:
            return None
        settings = self._settings
        head = spool.head
        if (
            self._closing
            or head is None
            or head <= self._flush_through
            or head <= self._from_before
            or spool.points >= settings.batch_points
        ):
            return 0.0
        wait = self._head_since(head, now) + settings.flush_interval - now
        return 0.0 if wait <= 0 else min(wait, settings.flush_interval)

    def _head_since(self, head: int, now: float) -> float:
        """When the record ``head`` was appended (monotonic); ``now`` if unknown (the lock held)."""
        appended = self._appended
        while appended and appended[0][0] < head:
            appended.popleft()  # delivered, dropped or set aside
        return appended[0][1] if appended else now

    def _delivery(self, records: list[Record]) -> Delivery:
        """The delivery of peeked records; records damaged on disk are set aside at once (no lock)."""
        delivery = Delivery(records)
        for entry, error in delivery.damaged:
            self._call_back("on_quarantined", WriteEvent(entry.points, (), 0.0, error))
        return delivery

    def _tell_set_aside(self) -> None:
        """``on_quarantined`` for the records the spool's peek set aside (they failed their checksum)."""
        for entry in self._spool.take_set_aside():
            damage = SpoolError(entry.error, path=self._settings.spool or "")
            self._call_back("on_quarantined", WriteEvent(entry.points, (), 0.0, damage))

    # --- callbacks: called by the writers without the lock, on the sender's thread or task ----------

    def _call_back(self, name: str, event: WriteEvent) -> None:
        """Call the callback ``name`` with ``event``; what it raises is logged once per callback."""
        callback = getattr(self._settings, name)
        if callback is None:
            return
        try:
            callback(event)
        except Exception:
            if name not in self._failed_callbacks:
                self._failed_callbacks.add(name)
                log.exception(
                    "the writer's %s callback raised; the writer ignores it and goes on (logged once)", name
                )

    def _report_accepted(self, piece: Piece, took: float) -> None:
        """``on_accepted`` for a piece the platform accepted in ``took`` seconds."""
        if self._settings.on_accepted is not None:
            self._call_back("on_accepted", WriteEvent(piece.points, tuple(piece.tag_ids()), took))

    def _report_failed(
        self, piece: Piece, took: float, error: BaseException, delay: float | None, outcome: str
    ) -> None:
        """``on_retry`` or ``on_quarantined`` for a failed request (see `_failed`)."""
        name = "on_quarantined" if outcome == Verdict.PERMANENT else "on_retry"
        if getattr(self._settings, name) is None:
            return
        failure = error if isinstance(error, Exception) else Exception(str(error))
        retry_in = None if name == "on_quarantined" else (delay or 0.0)
        self._call_back(name, WriteEvent(piece.points, tuple(piece.tag_ids()), took, failure, retry_in))

    def _failed(self, delivery: Delivery, piece: Piece, error: BaseException) -> tuple[float | None, str]:
        """A piece was not accepted: seconds to wait before trying again (``None``: go on at once), and why.

        The second value is `Verdict.SPLIT` (the piece was split; its halves go at once),
        `Verdict.PERMANENT` (set aside in the quarantine), `Verdict.RETRY` (the same
        piece again after the delay) or `Verdict.STOP` (send nothing more: the client was
        closed, or the writer is closing and cannot reach the platform).
        Called with the lock held. Transient failures are retried forever with a capped backoff;
        refusals of the writer itself (401, 403, redirects) too, reported as critical; a piece too
        large is split; a piece refused for good is split, or set aside when it is one part.
        """
        if isinstance(error, ClientClosedError):
            self._client_gone_locked()
            return None, Verdict.STOP
        if self._closing and unreachable(error):
            self._give_up(error)
            return None, Verdict.STOP
        judged = classify(error)
        status = error.status_code if isinstance(error, PlatformError) else None
        if judged is Failure.SPLIT and delivery.split(piece, points=True):
            return None, Verdict.SPLIT
        if judged in (Failure.SPLIT, Failure.PERMANENT):
            if judged is Failure.PERMANENT and delivery.split(piece, points=False):
                return None, Verdict.SPLIT
            message = describe(error)
            delivery.set_aside(piece, message, status)
            tags = ", ".join(repr(t) for t in piece.tag_ids()[:5])
            more = "" if len(piece.tag_ids()) <= 5 else ", ..."
            log.error(
                "the platform refused %d points of tags %s%s for good (%s): set aside in the quarantine "
                "(see w.quarantined(); w.requeue_quarantined() sends them again)",
                piece.points,
                tags,
                more,
                message,
            )
            self._last_error = message
            return None, Verdict.PERMANENT
        self._failures += 1
        self._last_error = describe(error)
        if self._failures == 1 and unexpected(error):
            log.error("sending a batch failed unexpectedly; the writer retries", exc_info=error)
        # Retried forever, whatever it is: the writer never drops points; a refusal of the writer
        # itself (token, address, a request that cannot be written) is critical until fixed.
        health: Health = "critical" if judged is Failure.REFUSED else "degraded"
        if self._failures == 1:
            self._failing_since = time.monotonic()
        if health != self._send_health:
            self._log_failing(health)
        self._send_health = health
        return self._retry_delay(error), Verdict.RETRY

    def _log_failing(self, health: Health) -> None:
        pending = self._pending_points()
        if health == "critical":
            log.error(
                "the writer's requests are refused (%s); the points stay pending (%d) and the writer "
                "keeps trying until this is fixed",
                self._last_error,
                pending,
            )
        else:
            log.warning(
                "the platform does not accept points (%s): retrying with backoff (at most %g s apart) until "
                "it does; %d points pending",
                self._last_error,
                self._settings.max_retry_delay,
                pending,
            )

    def _retry_delay(self, error: BaseException) -> float:
        """The wait before the next try: the client's backoff, from 1 s up to ``max_retry_delay``."""
        return backoff(
            error, self._failures, first=WRITER_INITIAL_RETRY_DELAY, cap=self._settings.max_retry_delay
        )

    def _succeeded(self, delivery: Delivery, piece: Piece) -> None:
        """The platform accepted a piece (the lock held)."""
        delivery.done(piece)
        self._sent_points += piece.points
        self._sent_batches += 1
        if self._failures:
            log.info(
                "the platform accepts points again, after %d failed attempts in %.1f s; %d points pending",
                self._failures,
                time.monotonic() - self._failing_since,
                self._pending_points() - piece.points,
            )
        elif self._send_health != "ok":
            log.info("the platform accepts points again")
        self._failures = 0
        self._send_health = "ok"

    def _settled(self) -> None:
        """The spool removed what was delivered (the lock held)."""
        self._update_room()
        self._signal(progress=True)

    # --- waiting for sync() and flush(): the lock held ---------------------------------------------

    def _ask_sync(self) -> tuple[int, int]:
        """Ask for a commit now; the count of points that must be in the spool for ``sync`` to return.

        Also the count of refusals of the spool so far (see `_sync_wait`).
        """
        if self._closed:
            raise WriterClosedError(
                "the writer is closed: what it held is in its spool (or was reported lost)"
            )
        target = self._written
        if self._committed < target:
            self._commit_now = True
            self._signal(commit=True)
        return target, self._refusals

    def _sync_wait(
        self,
        target: int,
        refusals: int,
        deadline: float | None,
        timeout: float | None,
        what: str,
        disk_deadline: float | None = None,
    ) -> float | None:
        """Seconds ``sync`` may wait for progress (``None``: until there is some); 0.0 when it is done.

        ``target`` and ``refusals`` are `_ask_sync`'s. While the spool refuses the points, the
        wait goes on until ``deadline`` (``disk_deadline`` when given), as the committer tries again,
        and then raises the spool's error; without a deadline, it raises once a try made after the
        call has failed. Otherwise [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError] at
        ``deadline``. The lock held.
        """
        if self._committed >= target:
            return 0.0
        now = time.monotonic()
        refusal = self._refusal
        if refusal is not None:
            limit = deadline if disk_deadline is None else disk_deadline
            if (self._refusals > refusals) if limit is None else now >= limit:
                raise type(refusal)(
                    f"{refusal.args[0]} (points written before this call are kept in memory, not on "
                    "disk; the writer tries again every second)",
                    path=refusal.path,
                )
            if limit is not None and deadline is not None:
                deadline = min(deadline, limit)
        left = remaining(deadline, what, timeout, self._pending_points(), now)
        return left if left is None else max(left, 1e-6)

    def _ask_flush(self) -> int:
        """After ``sync``: ask for a send now; the record id ``flush`` waits for (0: nothing pending)."""
        spool = self._spool
        if not spool.batches:
            return 0
        if self._client_closed:
            raise WriterClosedError(self._client_closed_message())
        self._flush_through = max(self._flush_through, spool.last_id)
        self._signal(send=True)
        return spool.last_id

    def _flushed(self, through: int) -> bool:
        head = self._spool.head
        if head is None or head > through:
            return True
        if self._client_closed:
            raise WriterClosedError(self._client_closed_message())
        if self._gave_up:
            raise WriterClosedError("the writer is closing and cannot reach the platform")
        return False

    # --- the client closed under the writer ----------------------------------------------------------

    def _client_gone(self) -> None:
        """The client was closed: take no more points, send nothing more (the pending stay in the spool)."""
        with self._lock:
            self._client_gone_locked()

    def _client_gone_locked(self) -> None:
        if self._client_closed or self._closed:
            return
        self._client_closed = True
        self._send_health = "critical"
        self._last_error = "the writer's client was closed"
        self._update_room()
        self._signal(send=True, progress=True)
        where = (
            "are lost when the writer closes (a memory-only writer)"
            if self._settings.spool is None
            else f"stay in the spool {self._settings.spool} and are sent when a writer opens it again"
        )
        log.warning(
            "the client of a writer was closed before the writer: the writer takes no more points and "
            "sends nothing more; its %d pending points %s",
            self._pending_points(),
            where,
        )

    def _client_closed_message(self) -> str:
        where = (
            "a memory-only writer loses them"
            if self._settings.spool is None
            else f"they stay in the spool {self._settings.spool} for the next writer"
        )
        return (
            "the writer's client was closed: the writer takes no more points and sends nothing more "
            f"({self._pending_points()} points pending: {where}); close the writer before its client"
        )

    # --- closing ----------------------------------------------------------------------------------

    def _begin_close(self, timeout: float) -> bool:
        """Stop the intake, say what is pending; ``False`` when already closing (the lock held)."""
        if self._closing:
            return False
        self._closing = True
        self._update_room()
        self._signal(commit=True, send=True, progress=True)
        pending = self._pending_points()
        if pending and not self._client_closed:
            failing = self._send_health != "ok"
            log.log(
                logging.WARNING if failing else logging.INFO,
                "closing the writer with %d points pending%s: delivering them for at most %g s "
                "(close_timeout), then %s",
                pending,
                f" while the platform does not accept points ({self._last_error})" if failing else "",
                timeout,
                self._left_behind(),
            )
        return True

    def _left_behind(self, *, rest: bool = True) -> str:
        """What becomes of the points a closing writer could not deliver ("the rest ..." or "they ...")."""
        if self._settings.spool is None:
            return ("the rest is" if rest else "they are") + " lost (a memory-only writer)"
        stay = "the rest stays" if rest else "they stay"
        return f"{stay} in the spool {self._settings.spool} for the next writer"

    def _give_up(self, error: BaseException) -> None:
        """Closing, and the platform cannot be reached: stop trying now (the lock held)."""
        self._gave_up = True
        self._last_error = describe(error)
        self._signal(progress=True)
        log.warning(
            "the writer is closing and no connection to the platform can be made (%s): it stops "
            "trying; %d points pending: %s",
            self._last_error,
            self._pending_points(),
            self._left_behind(rest=False),
        )

    def _report_close(self) -> None:
        """Say what was left behind (the lock held)."""
        spool = self._spool
        left = self._pending_points()
        if not left:
            return
        if self._settings.spool is None:
            self._dropped["closed"] = self._dropped.get("closed", 0) + left
            log.error(
                "the memory-only writer closed with %d points the platform had not accepted: they are lost "
                "(a spool keeps them for the next start)",
                left,
            )
        else:
            log.warning(
                "the writer closed with %d points not yet accepted by the platform: they stay in the spool "
                "%s and are sent when a writer opens it again",
                spool.points,
                self._settings.spool,
            )
            unsaved = left - spool.points
            if unsaved:
                self._dropped["closed"] = self._dropped.get("closed", 0) + unsaved
                log.error("%d points could not be stored in the spool before closing: they are lost", unsaved)

    # --- the quarantine (spool I/O, small; from the caller's thread) -------------------------------

    def quarantined(self) -> list[QuarantinedBatch]:
        """The batches set aside, oldest first: the platform refused them for good, or they were damaged."""
        result = []
        for entry in self._spool.quarantined():
            damaged = entry.damaged
            data: dict[TagId, list[PointDict]] = {}
            if not damaged:
                try:
                    data = decode_points(entry.tags, entry.data)
                except RecordError:
                    damaged = True
            result.append(
                QuarantinedBatch(
                    id=entry.id,
                    error=entry.error,
                    status_code=entry.status,
                    time=datetime.fromtimestamp(entry.quarantined, UTC),
                    written=datetime.fromtimestamp(entry.created, UTC),
                    tags=list(data),
                    points=entry.points,
                    data=data,
                    damaged=damaged,
                )
            )
        return result

    def requeue_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Send quarantined batches again (all, or those of ``ids``), after what is pending; return how many.

        Do it once the cause is fixed (on the platform, or in the connector). A requeued point
        overwrites one written since with the same tag and timestamp. Damaged batches stay.
        """
        ids = _ids(ids)
        moved = self._spool.requeue(ids)
        with self._lock:
            if moved:
                self._appended.append((self._spool.last_id, time.monotonic()))
            self._update_room()
            self._signal(send=True)
        return moved

    def purge_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Delete quarantined batches (all, or those of ``ids``); return how many. Their points are lost."""
        ids = _ids(ids)
        batches, points = self._spool.purge(ids)
        if points:
            with self._lock:
                self._dropped["purged"] = self._dropped.get("purged", 0) + points
            log.warning("purged %d quarantined batches (%d points)", batches, points)
        return batches

    # --- stats -------------------------------------------------------------------------------------

    def _pending_points(self) -> int:
        return self._intake + self._committing + self._unsaved_points + self._spool.points

    def stats(self) -> WriterStats:
        """A snapshot of the writer: what is pending, sent, dropped, set aside, and its health."""
        with self._lock:
            spool = self._spool
            now = time.monotonic()
            ages = []
            if spool.head is not None:
                ages.append(max(0.0, now - self._head_since(spool.head, now)))
            if self._intake or self._committing or self._unsaved_points:
                ages.append(now - min(self._intake_since, self._last_take))
            if (
                self._refusal is not None
                or self._refusing
                or self._send_health == "critical"
                or spool.quarantined_batches
            ):
                health: Health = "critical"
            elif self._send_health == "degraded" or self._dropping:
                health = "degraded"
            else:
                health = "ok"
            return WriterStats(
                pending_points=self._pending_points(),
                pending_batches=spool.batches,
                oldest_pending_age=max(ages) if ages else None,
                spool_bytes=spool.bytes,
                sent_points=self._sent_points,
                sent_batches=self._sent_batches,
                dropped_points=MappingProxyType(dict(self._dropped)),
                refused_points=self._refused_points,
                quarantined_batches=spool.quarantined_batches,
                consecutive_failures=self._failures,
                last_error=self._last_error,
                health=health,
            )

    def watermark(self, tag: Tag | TagIdLike) -> int | str | None:
        """The timestamp ``x`` of the last point of ``tag`` the writer has stored, or ``None``.

        "Stored" means in the spool (after ``sync()``, or the commit that follows each write): the
        watermark is committed in the same transaction as the points it follows, so it never names a
        point the spool did not take, and it stays after the points are delivered and across restarts
        (``kill -9`` included). "Last" is in the order the points were written. ``x`` is in wire form:
        integer microseconds, or the timestamp string as given. A connector resumes reading its source
        from there. A memory-only writer keeps them for its own life only.
        """
        key = _state_key(tag_id_to_wire(tag.id if isinstance(tag, Tag) else tag_id_from(tag)))
        with self._lock:
            raw = self._watermarks.stored.get(key)
        return None if raw is None else _watermark_value(raw)

    def watermarks(self) -> dict[TagId, int | str]:
        """Every tag's watermark (see `watermark`)."""
        with self._lock:
            items = list(self._watermarks.stored.items())
        return {tag_id_from(orjson.loads(key)): _watermark_value(raw) for key, raw in items}

    @property
    def spool(self) -> str | None:
        """The spool directory, or ``None`` for a memory-only writer."""
        return self._settings.spool

    @property
    def closed(self) -> bool:
        """Whether the writer is closed."""
        return self._closed

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(spool={self._settings.spool!r}, pending_points={self._pending_points()})"


def _state_key(wire: str | dict[str, str]) -> str:
    """The spool's key of a tag's state: its wire id as canonical JSON."""
    return orjson.dumps(wire, option=orjson.OPT_SORT_KEYS).decode()


def _watermark_value(raw: bytes) -> int | str:
    value = orjson.loads(raw)
    if type(value) is int or type(value) is str:
        return value
    raise SpoolError(f"a watermark in the spool is not a timestamp: {raw!r}", path="")


def remaining(
    deadline: float | None, what: str, timeout: float | None, pending: int, now: float | None = None
) -> float | None:
    """Seconds left before ``deadline``; `WriterTimeoutError` once it has passed."""
    if deadline is None:
        return None
    left = deadline - (time.monotonic() if now is None else now)
    if left <= 0:
        raise WriterTimeoutError(
            f"{what}() did not finish within {timeout:g} s ({pending} points pending); nothing is lost: "
            "the writer goes on"
        )
    return left


def _ids(ids: Iterable[int] | None) -> list[int] | None:
    if ids is None:
        return None
    if isinstance(ids, int):
        ids = [ids]
    result = list(ids)
    for value in result:
        if type(value) is not int:
            raise InvalidInputError(f"quarantine ids are integers (QuarantinedBatch.id), not {value!r}")
    return result


def _check_many(tag_id: PointRules, points: Any) -> list[PointDict]:
    """Check the points of ``write_points`` in any form it takes; return them in wire form."""
    if isinstance(points, Columns):
        return check_columns(tag_id, points.x, points.y, points.q)
    columns = getattr(points, "columns", None)
    if columns is not None and hasattr(points, "iloc"):  # a pandas DataFrame
        if "x" not in columns or "y" not in columns:
            raise InvalidInputError(
                "a DataFrame given to write_points needs the columns x and y (and maybe q), "
                f"not {list(columns)}"
            )
        return check_columns(tag_id, points["x"], points["y"], points["q"] if "q" in columns else None)
    return check_points(tag_id, points)


def _disk_spool(settings: Settings) -> Spool:
    """The spool on disk; SQLite is imported only by a writer that uses it (not at import time)."""
    from ._spool_sqlite import SqliteSpool

    assert settings.spool is not None
    return SqliteSpool(settings.spool, fsync=settings.fsync)
