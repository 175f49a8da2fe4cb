"""The writer's intake: the points given by ``write*``, checked on the caller's thread, and the room rules.

No I/O: a write appends the checked points to its tag's intake under the writer's lock and wakes the
committer; `Intake.take` hands the committer all that waits. `Intake.admit` applies the room rules
when a write would go past the `Room` the engine set: it raises when the writer takes no points, has
the committer take the intake when it is over its cap (a sync writer's writes wait for that) and
applies the overflow policy (``raise``, ``block``; ``drop_oldest`` never refuses).

How the caller's points are kept: ``write`` and ``write_tags`` as dicts, ``write_points`` already
encoded (its points are many: encoding them at once keeps the intake small, and the committer's work
to the disk).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, cast

from .._columns import check_columns
from .._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP
from .._exceptions import InvalidInputError, InvalidPointError, WriterFullError
from .._http.base_client import WriterLink
from .._points import MAX_INT, MIN_INT, PointRules, check_points, point
from .._results import Columns
from .._tag import Tag, TagAttributes
from .._types import NOT_GIVEN, NotGiven, PointDict, TagId, TagIdLike, tag_id_from, tag_id_to_wire
from .accounts import Accounts
from .options import CheckedOptions, flag, seconds_or_none
from .policies import TagPolicy, make_policy
from .records import EncodedPart, encode_parts

__all__ = ["Intake", "Room", "Signal", "TagEntry", "Take", "WritePoint", "limit_of", "wire_points"]

_MAX_TAG_OBJECTS = 65_536
"""Tag objects remembered for a quick lookup; beyond this many, they are looked up by id."""
_ENCODE_AT = 64
"""Points of one write_points call from which they are encoded on the caller's thread."""

WritePoint = tuple[int, Any, int | None]
"""A point of ``write`` as the intake keeps it, ``(x, y, q)``: checked, made a wire dict by the committer."""

Signal = Callable[..., None]
"""Wakes the committer, the sender or those waiting for progress: ``signal(commit=, send=, progress=)``."""


class TagEntry:
    """A tag the writer has seen: its id, the intake of its points and its policy.

    The intake of a tag is ``encoded`` (from ``write_points``), then ``buffer`` (wire dicts, and
    `WritePoint` tuples from ``write``), in write order: once ``buffer`` holds points,
    ``write_points`` appends dicts to it too.
    """

    __slots__ = ("attributes", "buffer", "encoded", "overrides", "policy", "rules", "tag_id", "wire")

    def __init__(self, tag_id: TagId, attributes: TagAttributes | None) -> None:
        self.tag_id = tag_id
        self.wire = tag_id_to_wire(tag_id)
        self.attributes = attributes
        self.buffer: list[PointDict | WritePoint] = []
        self.encoded: list[EncodedPart] = []
        self.policy: TagPolicy | None = None
        self.overrides: dict[str, Any] = {}
        self.rules = PointRules(tag_id)


class Room:
    """How many more points the writer takes: one value, set by the engine (lock held), read by the intake.

    ``points``: how many more points the intake may take before the overflow policy applies
    (``None``: none at all: the writer is closed, its client closed or its disk refusing them, and
    the engine's gate says which). ``capacity``: the points the writer could hold when empty (a call
    of more can never fit). ``cap`` and ``bytes_cap``: the points (as dicts) and the bytes (encoded)
    the intake itself holds before a write waits for the committer to take them (no limit unless the
    writer's writes can wait). ``fast``: the write path's one comparison, ``points`` within ``cap``
    (-1 for none: every write asks `Intake.admit`).
    """

    __slots__ = ("bytes_cap", "cap", "capacity", "fast", "points")

    def __init__(self, cap: int = sys.maxsize, bytes_cap: int = sys.maxsize) -> None:
        self.cap = cap
        self.bytes_cap = bytes_cap
        self.points: int | None = sys.maxsize
        self.capacity = sys.maxsize
        self.fast = sys.maxsize

    def set(self, points: int | None, capacity: int) -> None:
        """Room for ``points`` more points (``None``: none at all); ``capacity`` when empty."""
        self.points = points
        self.capacity = capacity
        self.fast = -1 if points is None else min(points, self.cap)


class Take:
    """The intake taken for one commit: each tag's points, and the count of points written by then.

    ``by_tag``: ``(tag id on the wire, points)`` in write order, the points as the intake kept them
    (dicts and `WritePoint` tuples, or an `EncodedPart`); ``points``: how many; ``mark``: the points
    written since the writer opened, these included.
    """

    __slots__ = ("by_tag", "mark", "points")

    def __init__(
        self,
        by_tag: list[tuple[str | dict[str, str], list[PointDict | WritePoint] | EncodedPart]],
        points: int,
        mark: int,
    ) -> None:
        self.by_tag = by_tag
        self.points = points
        self.mark = mark


def limit_of(options: CheckedOptions) -> str:
    """The option that bounds what the writer holds, as its messages name it."""
    if options["spool"] is None:
        return f"max_pending_points={options['max_pending_points']}"
    return f"max_spool_bytes={options['max_spool_bytes']}"


class Intake:
    """The points written and not yet taken by the committer, per tag, and the rules of room.

    ``lock`` is the writer's one lock: the write methods take it; the others are called with it held.
    ``room`` is the engine's: the intake reads it, the engine sets it.
    ``gate(count)`` raises when the writer takes no points at all (closed, its disk refusing them);
    ``wait_for_room(seconds)`` waits, the lock held, for the committer or the sender to make room;
    ``pending()`` counts the points the writer holds, for the messages.
    """

    def __init__(
        self,
        options: CheckedOptions,
        link: WriterLink,
        lock: threading.Lock,
        accounts: Accounts,
        room: Room,
        *,
        signal: Signal,
        wait_for_room: Callable[[float], None],
        gate: Callable[[int], None],
        pending: Callable[[], int],
    ) -> None:
        self._options = options
        self._link = link
        self._lock = lock
        self._accounts = accounts
        self._room = room
        self._signal = signal
        self._wait_for_room = wait_for_room
        self._gate = gate
        self._pending = pending
        self.entries: dict[object, TagEntry] = {}
        self.dirty: list[TagEntry] = []  # the tags with points in the intake, in order
        self.count = 0  # points in the intake
        self.bytes = 0  # bytes of the encoded points in the intake
        self.since = 0.0  # when the first point of the intake came (monotonic)
        self.written = 0  # points taken in since the writer opened
        self.commit_now = False  # a sync, or a write over the cap, asks for a commit at once
        self.last_take = time.monotonic()
        self._wake_at = options["batch_points"]

    def due_in(self, now: float, closing: bool) -> float | None:
        """Seconds until the intake is due for a commit: 0 now, ``None`` when it is empty (the lock held)."""
        if not self.count:
            return None
        options = self._options
        if self.commit_now or closing or self.count >= options["batch_points"]:
            return 0.0
        return max(0.0, self.last_take + options["commit_interval"] - now)

    def take(self) -> Take:
        """Take the intake for a commit (the lock held)."""
        by_tag: list[tuple[str | dict[str, str], list[PointDict | WritePoint] | EncodedPart]] = []
        for entry in self.dirty:
            wire = entry.wire
            if entry.encoded:
                by_tag += [(wire, part) for part in entry.encoded]
                entry.encoded = []
            if entry.buffer:
                by_tag.append((wire, entry.buffer))
                entry.buffer = []
        self.dirty = []
        self.bytes = 0
        take = Take(by_tag, self.count, self.written)
        self.count = 0
        self.commit_now = False
        self._wake_at = self._options["batch_points"]
        self.last_take = time.monotonic()
        if self._room.cap != sys.maxsize:
            self._signal(progress=True)  # a write waiting for the intake to be taken may go on
        return take

    # --- the write methods: the caller's thread, no I/O ------------------------------------------------

    def write(self, tag: Tag | TagIdLike, x: Any, y: Any, q: int | None = None) -> None:
        """Take one point (`Writer.write`): checked here, appended to its tag's intake."""
        try:
            entry = self.entries[tag]
        except (KeyError, TypeError):
            entry = self.entry_for(tag)
        ty = type(y)
        # The common case inline, as Tag.add_data has it (a live loop calls this for every point):
        # an integer timestamp in microseconds, a plain value of the tag's type, an integer quality;
        # anything else is checked completely by point().
        checked: PointDict | WritePoint | None
        policy = entry.policy
        if (
            type(x) is int
            and SMALL_TIMESTAMP <= x <= MAX_TIMESTAMP
            and ty in entry.rules.fast_y
            and (q is None or (type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY))
            and (ty is not float or y - y == 0.0)
            and (ty is not int or MIN_INT <= y <= MAX_INT)
            and (ty is not str or y.isascii())
        ):
            # A tuple, made a wire dict by the committer: a third of the cost of a dict on this thread.
            if policy is None:
                checked = (x, y, q)
            else:
                checked = policy.apply(entry.tag_id, None, {"x": x, "y": y, "q": q})
        else:
            checked = point(entry.rules, x, y, q)
            if policy is not None:
                checked = policy.apply(entry.tag_id, None, checked)
        if checked is None:  # dropped by the deadband
            with self._lock:
                self._accounts.drop("deadband", 1)
            return
        # acquire/release rather than "with": half the cost of taking the lock (about 0.1 us of the
        # 1 us a point costs here, measured on CPython 3.11).
        lock = self._lock
        lock.acquire()
        try:
            intake = self.count
            if intake >= self._room.fast:
                self.admit(1)
                intake = self.count  # the committer may have taken the intake meanwhile
            buffer = entry.buffer
            if not buffer and not entry.encoded:
                if not self.dirty:  # the first point since the last commit: start its clock
                    self.since = time.monotonic()
                    self._signal(commit=True)
                self.dirty.append(entry)
            buffer.append(checked)
            self.count = intake = intake + 1
            self.written += 1
            if intake >= self._wake_at:
                self._wake_at = sys.maxsize  # once, until the committer takes the intake
                self._signal(commit=True)
        finally:
            lock.release()

    def write_points(self, tag: Tag | TagIdLike, points: Any) -> int:
        """Take many points for one tag (`Writer.write_points`); return how many were kept."""
        try:
            entry = self.entries[tag]
        except (KeyError, TypeError):
            entry = self.entry_for(tag)
        checked = _check_many(entry.rules, points)
        policy = entry.policy
        dropped = 0
        if policy is not None and checked:
            checked, dropped = policy.apply_many(entry.tag_id, checked)
        encoded: list[EncodedPart] = []
        if len(checked) >= _ENCODE_AT and not entry.buffer:  # (looked at again under the lock)
            encoded, problems = encode_parts(checked, self._options["batch_points"])
            if problems:  # a dict changed while it was checked: say which, keep none
                index, why = problems[0]
                raise InvalidPointError(entry.tag_id, index, None, f"cannot be encoded ({why})")
        with self._lock:
            if dropped:
                self._accounts.drop("deadband", dropped)
            if encoded and not entry.buffer:
                self.take_encoded(entry, encoded, len(checked))
            else:
                self.take_in(entry, checked)
        return len(checked)

    def write_tags(self, tags: Tag | Iterable[Tag]) -> int:
        """Move the points buffered in ``tags`` into the intake (`Writer.write_tags`); return how many."""
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
                entry = self.entry_for(tag)
                kept, dropped = (
                    entry.policy.apply_many(entry.tag_id, points) if entry.policy is not None else (points, 0)
                )
                prepared.append((entry, kept, dropped))
            with self._lock:
                self.admit_many(sum(len(kept) for _, kept, _ in prepared))
                for entry, kept, dropped in prepared:
                    if dropped:
                        self._accounts.drop("deadband", dropped)
                    self.take_in(entry, kept, checked_room=True)
        except BaseException:
            for tag, _ in taken:  # refused: the points go back, before any given since
                tag._restore()
            raise
        for tag, points in taken:  # taken: they leave the tags
            tag._settle(len(points))
        return sum(len(points) for _, points in taken)

    def write_frame(self, frame: Any, *, form: Literal["long", "wide"] = "long") -> int:
        """Take the points of a pandas or polars frame (`Writer.write_frame`); return how many."""
        from .._frames import frame_tags  # pandas and polars are optional: only frames need them

        chunks = list(
            frame_tags(frame, form=form, chunk_size=self._options["batch_points"], make_tag=self._link.tag)
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
        """Set the tag policies of one tag (`Writer.set_policy`); its deadband starts afresh."""
        overrides: dict[str, Any] = {}
        if not isinstance(scale, NotGiven):
            overrides["scale"] = flag("scale", scale)
        if not isinstance(deadband, NotGiven):
            overrides["deadband"] = flag("deadband", deadband)
        if not isinstance(max_interval, NotGiven):
            overrides["max_interval"] = seconds_or_none("max_interval", max_interval)
        entry = self.entry_for(tag)
        with self._lock:
            entry.overrides.update(overrides)
            entry.policy = self._policy(entry)

    def _policy(self, entry: TagEntry) -> TagPolicy | None:
        options = self._options
        overrides = entry.overrides
        return make_policy(
            entry.attributes,
            scale=overrides.get("scale", options["scale"]),
            deadband=overrides.get("deadband", options["deadband"]),
            max_interval=overrides.get("max_interval", options["max_interval"]),
        )

    def _rules(self, entry: TagEntry) -> PointRules:
        """How the points of ``entry`` are checked: the client's precision, the tag's value type."""
        link = self._link
        value_type = None if entry.attributes is None else entry.attributes.get("smtTagValueTypeCode")
        return PointRules(
            entry.tag_id, value_type=value_type, precision=link.precision, check_values=link.check_values
        )

    def entry_for(self, tag: object) -> TagEntry:
        """The entry of a tag given as a `Tag` or an id, made on first sight (the slow path)."""
        if isinstance(tag, Tag):
            key: TagId = tag.id
            attributes: TagAttributes | None = tag.attributes
        else:
            key = tag_id_from(tag)
            attributes = self._link.attributes(key)  # those create_tags was given
        with self._lock:
            entry = self.entries.get(key)
            if entry is None:
                entry = self.entries[key] = TagEntry(key, attributes)
                entry.policy = self._policy(entry)
                entry.rules = self._rules(entry)
            elif attributes and entry.attributes is None:
                entry.attributes = attributes
                entry.policy = self._policy(entry)
                entry.rules = self._rules(entry)
            if isinstance(tag, Tag) and len(self.entries) < _MAX_TAG_OBJECTS:
                self.entries[tag] = entry
        return entry

    def take_in(self, entry: TagEntry, points: list[PointDict], checked_room: bool = False) -> None:
        """Append checked points to the intake (the lock held)."""
        count = len(points)
        if not count:
            return
        if not checked_room and self.count + count > self._room.fast:
            self.admit(count)
        if not entry.buffer:
            if not self.dirty:
                self.since = time.monotonic()
                self._signal(commit=True)
            if not entry.encoded:
                self.dirty.append(entry)
            entry.buffer = cast("list[PointDict | WritePoint]", points)  # the intake's own from now on
        else:
            entry.buffer.extend(points)
        self.count += count
        self.written += count
        if self.count >= self._wake_at:
            self._wake_at = sys.maxsize
            self._signal(commit=True)

    def take_encoded(self, entry: TagEntry, encoded: list[EncodedPart], count: int) -> None:
        """Append encoded points to the intake, before any dict of the tag (the lock held)."""
        size = sum(len(chunk.data) for chunk in encoded)
        room = self._room
        if self.count + count > room.fast or self.bytes + size > room.bytes_cap:
            self.admit(count, size)
        if not entry.encoded and not entry.buffer:
            if not self.dirty:
                self.since = time.monotonic()
                self._signal(commit=True)
            self.dirty.append(entry)
        entry.encoded += encoded
        self.count += count
        self.bytes += size
        self.written += count
        if self.count >= self._wake_at:
            self._wake_at = sys.maxsize
            self._signal(commit=True)

    def admit_many(self, count: int) -> None:
        """Make room for ``count`` points, unless they fit (the lock held)."""
        if count and self.count + count > self._room.fast:
            self.admit(count)

    def admit(self, count: int, size: int | None = None) -> None:
        """Make room for ``count`` points as the overflow policy says, or raise (the lock held).

        ``size``: the bytes of the points, when they come encoded (their room in the intake is
        counted in bytes, that of dicts in points).
        """
        deadline: float | None = None
        room = self._room
        while True:
            self._gate(count)  # raises when the writer takes no points at all (closed, disk full)
            if self.count and (
                self.count + count > room.cap if size is None else self.bytes + size > room.bytes_cap
            ):
                # The committer is behind: have it take the intake now (not after commit_interval),
                # and wait until it has.
                self.commit_now = True
                self._signal(commit=True)
                self._wait_for_room(1.0)
                continue
            if room.points is not None and self.count + count <= room.points:
                return
            options = self._options
            limit = limit_of(options)
            if count > room.capacity:
                self._accounts.refuse(count)
                raise WriterFullError(
                    f"{count} points in one call are more than the writer can ever hold ({limit}): "
                    "give fewer at a time, or raise the limit",
                    points=count,
                )
            if options["overflow"] == "block":
                now = time.monotonic()
                if deadline is None:
                    deadline = now + options["block_timeout"]
                if now < deadline:
                    self._wait_for_room(deadline - now)
                    continue
            self._accounts.refuse(count)
            self._accounts.full(limit, self._pending())
            waited = (
                f" after waiting {options['block_timeout']:g} s" if options["overflow"] == "block" else ""
            )
            raise WriterFullError(
                f"the writer is full ({limit}, {self._pending()} points pending){waited}: "
                f"{count} points of this call were not kept; the platform has not accepted points fast "
                "enough (see w.stats())",
                points=count,
            )


def wire_points(points: list[PointDict | WritePoint]) -> list[PointDict]:
    """The points of a tag's intake as wire dicts (those of ``write`` are kept as tuples)."""
    return [{"x": p[0], "y": p[1], "q": p[2]} if isinstance(p, tuple) else p for p in points]


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
