"""Push sources: ``emit`` from a thread or the event loop, ``subscribe``, the stop's drain, and
``kill -9`` of a push connector whose source keeps a history."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data_interaction_client import WriterClosedError
from data_interaction_client.emulator import RunningPlatform, run_platform

from .helpers import Background, Child, wait_for
from .history import STEP, AsyncPushed, Pushed, PushedNoHistory, now_us
from .sample import value

TAGS = [{"id": "a", "attributes": {}}, {"id": "bb", "attributes": {}}]
CONFIG = {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": TAGS}}}
WRITER = {"flush_interval": 0.05, "commit_interval": 0.02, "max_retry_delay": 0.2, "fsync": False}


@pytest.fixture
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=CONFIG) as running:
        yield running


@pytest.mark.parametrize(
    "cls", [PushedNoHistory, Pushed, AsyncPushed], ids=["sync", "sync-backfill", "async"]
)
def test_a_stop_delivers_every_reading_emitted_before_it_and_refuses_later_ones(
    platform: RunningPlatform, tmp_path: Path, cls: Any
) -> None:
    cls.instances.clear()
    cls.emitted.clear()
    cls.refusals.clear()
    run = Background(
        cls,
        url=platform.url,
        source="1",
        spool=str(tmp_path / "spool"),
        writer=WRITER,
        settings={"t0": now_us()},
    )
    wait_for(lambda: len(cls.emitted) > 100, "readings emitted")
    run.stop()
    emitted = list(cls.emitted)
    for tag in ("a", "bb"):
        stored = {p["x"]: p["y"] for p in platform.stored_points(tag)}
        mine = [x for tag_id, x in emitted if tag_id == tag]
        assert mine
        assert [x for x in mine if stored.get(x) != value(tag, x)] == []
    assert cls.refusals
    assert all(isinstance(exc, WriterClosedError) for exc in cls.refusals)
    assert "the run is stopping" in str(cls.refusals[-1])


def test_a_push_connector_without_poll_and_without_subscribe_is_refused_at_once(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    from data_interaction_client.connector import Connector, OpenError

    class Nothing(Connector):
        pass

    with pytest.raises(OpenError, match="defines neither poll"):
        Nothing.run(url=platform.url, source="1", spool=str(tmp_path / "s"))


@pytest.mark.slow
def test_kill_9_of_a_push_connector_with_a_history_loses_no_sample(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    t0 = now_us()
    config = tmp_path / "push.yaml"
    config.write_text(
        f"source: '1'\nspool: {tmp_path / 'spool'}\nclose_timeout: 5\n"
        "writer: {flush_interval: 0.1, commit_interval: 0.05, max_retry_delay: 0.5}\n"
        f"settings:\n  t0: {t0}\n"
    )
    rng = random.Random(22)
    for _ in range(4):
        child = Child(tmp_path, platform.url, "tests.connector.history:Pushed", "--config", str(config))
        wait_for(lambda c=child: "subscribed to 2 tags" in c.stderr(), "the subscription")
        time.sleep(rng.uniform(0.1, 1.0))
        child.kill()
        time.sleep(rng.uniform(0.0, 0.5))  # the source goes on meanwhile
    child = Child(tmp_path, platform.url, "tests.connector.history:Pushed", "--config", str(config))
    wait_for(lambda: "subscribed to 2 tags" in child.stderr(), "the last start")
    time.sleep(0.5)
    end = now_us()
    child.signal(signal.SIGTERM)
    code, _ = child.wait()
    assert code == 0, child.stderr()
    for tag in ("a", "bb"):
        stored = {p["x"]: p["y"] for p in platform.stored_points(tag)}
        first = -(-t0 // STEP) * STEP
        # up to a little before the SIGTERM: the source's pushes after the stop began are refused
        # (they are the next start's to read from the history)
        missing = [x for x in range(first, end - 100_000, STEP) if x not in stored]
        assert missing == [], (tag, len(missing))
        assert [x for x, y in stored.items() if y != value(tag, x)] == []
