"""schemathesis against the running reference platform: positive and negative cases, bounded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis import GenerationMode

from data_interaction_client.emulator import RunningPlatform, find_spec_path, run_platform

pytestmark = pytest.mark.slow  # generated requests by the hundred: about 40 s

MAX_EXAMPLES = 60
schema = schemathesis.openapi.from_path(find_spec_path())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, database="none"
)
CASES: Counter[str] = Counter()


@pytest.fixture(scope="module", params=["object", "array"])
def live(request: pytest.FixtureRequest) -> Iterator[RunningPlatform]:
    # Both forms of answer points must follow the contract.
    with run_platform(config=None, point_form=request.param) as running:
        yield running
    total = sum(CASES.values())
    print(f"\nschemathesis: {total} cases {dict(CASES)}")


@schema.parametrize()
def test_contract(case: schemathesis.Case, live: RunningPlatform) -> None:
    # No exclusion: every string the Timestamp pattern admits is a real instant the platform accepts.
    CASES[f"{case.operation.label} {case.meta.generation.mode if case.meta else '?'} {live.point_form}"] += 1
    response = case.call(base_url=live.url, timeout=60)  # generous: a loaded CI machine is slow
    assert response.status_code < 500, response.text
    case.validate_response(response)
