"""Every public error survives pickle with its fields, also across a process pool."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType

import pytest

import data_interaction_client as dic
import data_interaction_client.cli
import data_interaction_client.connector
import data_interaction_client.emulator
import DataInteractionClient as compat

PUBLIC_MODULES: list[ModuleType] = [
    dic,
    compat,
    data_interaction_client.cli,
    data_interaction_client.connector,
    data_interaction_client.emulator,
]


def _exported_errors() -> Iterator[type[BaseException]]:
    seen: set[type[BaseException]] = set()
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException) and value not in seen:
                seen.add(value)
                yield value


def _platform(cls: type[dic.PlatformError]) -> dic.PlatformError:
    error = cls(
        "HTTP 418, platform error 7: teapot",
        method="POST",
        path="/smt/dataSources/setData",
        status_code=418,
        error_id=7,
        error_message="teapot",
        retry_after=2.5,
    )
    error.body = '{"error": {"id": 7}}'
    error.points_sent = 120
    return error


def _too_large() -> dic.RequestTooLargeError:
    error = _platform(dic.RequestTooLargeError)
    assert isinstance(error, dic.RequestTooLargeError)
    error.request_bytes = 1_048_577
    error.points = 5000
    error.max_points_per_request = 10_000
    return error


def _api(cls: type[dic.APIError]) -> dic.APIError:
    error = cls("connection refused", method="POST", path="/smt/dataSources/connect")
    error.points_sent = 3
    return error


# How to build each error whose constructor takes more than a message, with every field set to a
# value other than its default; every other exported error is built from a message alone.
SAMPLES: dict[type[BaseException], Callable[[], BaseException]] = {
    dic.InvalidPointError: lambda: dic.InvalidPointError("temperature", 3, "y", "not a number"),
    dic.DataSourceNotActiveError: lambda: dic.DataSourceNotActiveError("source-1"),
    dic.APIError: lambda: _api(dic.APIError),
    dic.APIConnectionError: lambda: _api(dic.APIConnectionError),
    dic.APITimeoutError: lambda: _api(dic.APITimeoutError),
    dic.InvalidResponseError: lambda: dic.InvalidResponseError(
        "not JSON", method="POST", path="/smt/dataSources/getData", status_code=502, body="<html>"
    ),
    dic.RequestTooLargeError: _too_large,
    dic.WriterFullError: lambda: dic.WriterFullError("the spool is full", points=250),
    dic.SpoolError: lambda: dic.SpoolError("cannot create", path="/var/spool/x"),
    dic.SpoolLockedError: lambda: dic.SpoolLockedError("held by pid 12", path="/var/spool/x"),
    dic.SpoolDiskFullError: lambda: dic.SpoolDiskFullError("disk full", path="/var/spool/x/spool.db"),
}
for _cls in _exported_errors():
    if issubclass(_cls, dic.PlatformError) and _cls not in SAMPLES:
        SAMPLES[_cls] = lambda cls=_cls: _platform(cls)  # type: ignore[misc]


def _sample(cls: type[BaseException]) -> BaseException:
    if cls in SAMPLES:
        return SAMPLES[cls]()
    try:
        return cls("something went wrong")
    except TypeError as exc:  # a new error whose constructor takes fields: add it to SAMPLES
        pytest.fail(f"{cls.__qualname__} takes more than a message: add a sample to SAMPLES ({exc})")


ERRORS = sorted(_exported_errors(), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_every_public_module_is_searched() -> None:
    # The list above covers the errors that connectors meet most: guard it against a rename.
    names = {cls.__name__ for cls in ERRORS}
    assert {"NotFoundError", "WriterFullError", "SpoolLockedError", "SettingsError", "ConfigError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__qualname__)
def test_error_survives_pickle_with_its_fields(cls: type[BaseException]) -> None:
    error = _sample(cls)
    assert type(error) is cls
    error.add_note("a note added on the way")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol=protocol))
        assert type(copy) is cls
        assert copy.args == error.args
        assert vars(copy) == vars(error)
        assert str(copy) == str(error)


def _raise_not_found() -> None:
    raise _platform(dic.NotFoundError)


def test_error_raised_in_a_worker_process_reaches_the_parent_as_itself() -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(_raise_not_found)
        with pytest.raises(dic.NotFoundError) as raised:
            future.result(timeout=60)
    error = raised.value
    assert (error.status_code, error.error_id, error.error_message) == (418, 7, "teapot")
    assert (error.method, error.path, error.retry_after, error.points_sent) == (
        "POST",
        "/smt/dataSources/setData",
        2.5,
        120,
    )
    assert error.body == '{"error": {"id": 7}}'
