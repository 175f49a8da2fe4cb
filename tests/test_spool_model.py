"""The real spool driven side by side with a model of its contract: append, peek, settle, crash, reopen."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from data_interaction_client._spool.contract import MemorySpool, NewRecord, Spool
from data_interaction_client._spool.sqlite import SqliteSpool


@dataclass
class Model:
    """What the contract says the spool holds."""

    records: list[tuple[int, int, bytes]] = field(default_factory=list)  # (id, points, data), in order
    watermarks: dict[str, bytes] = field(default_factory=dict)
    reserved: list[int] = field(default_factory=list)
    last_id: int = 0

    def first(self, max_points: int) -> list[tuple[int, int, bytes]]:
        chosen, total = [], 0
        for record in self.records:
            if chosen and total + record[1] > max_points:
                break
            chosen.append(record)
            total += record[1]
        return chosen


class SpoolMachine(RuleBasedStateMachine):
    """Each step on the real spool and on the model; their views must agree after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.root = tempfile.mkdtemp(prefix="spool-model-")
        self.spool: Spool = SqliteSpool(self.root)
        self.memory = MemorySpool()  # the in-memory twin keeps the same contract, crashes aside
        self.model = Model()
        self.serial = 0

    def teardown(self) -> None:
        self.spool.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(
        sizes=st.lists(st.integers(1, 50), min_size=1, max_size=4),
        tags=st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
    )
    def append(self, sizes: list[int], tags: list[str]) -> None:
        records = []
        for size in sizes:
            self.serial += 1
            records.append(NewRecord(size, b"t", self.serial.to_bytes(4, "big") * size))
        watermarks = {tag: str(self.serial).encode() for tag in tags}
        result = self.spool.append(records, watermarks=watermarks)
        self.memory.append(records, watermarks=watermarks)
        assert result.first == self.model.last_id + 1
        for offset, record in enumerate(records):
            self.model.records.append((result.first + offset, record.points, record.data))
        self.model.last_id = result.last
        self.model.watermarks.update(watermarks)

    @rule(max_points=st.integers(1, 120))
    def peek(self, max_points: int) -> None:
        got = self.spool.peek(max_points)
        twin = self.memory.peek(max_points)
        want = self.model.first(max_points)
        assert [(r.id, r.points, r.data) for r in got] == want
        assert [(r.points, r.data) for r in twin] == [(points, data) for _, points, data in want]
        self.model.reserved = [record_id for record_id, _, _ in want]

    @precondition(lambda self: self.model.reserved)
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        through = data.draw(st.sampled_from(self.model.reserved))
        self.spool.settle(through)
        self.memory.settle(through)  # the twins give the same ids
        self.model.records = [r for r in self.model.records if r[0] > through]
        self.model.reserved = []

    @rule()
    def release(self) -> None:
        self.spool.release()
        self.memory.release()
        self.model.reserved = []

    @rule()
    def crash_and_reopen(self) -> None:
        # Closing gives the files up as the end of a process does: nothing is written at close.
        self.spool.close()
        self.spool = SqliteSpool(self.root)
        self.model.reserved = []  # what was reserved is handed out again
        self.memory.release()

    @invariant()
    def counters_agree(self) -> None:
        records = self.model.records
        assert self.spool.points == sum(points for _, points, _ in records)
        assert self.spool.records == len(records)
        assert self.spool.head == (records[0][0] if records else None)
        assert self.spool.watermarks() == self.model.watermarks
        assert self.memory.points == self.spool.points
        assert self.memory.watermarks() == self.model.watermarks


SpoolMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_spool_against_its_model = pytest.mark.slow(SpoolMachine.TestCase)  # about 3 s of disk syncs
