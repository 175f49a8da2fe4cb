"""The public surface is exactly __all__, and every public name is documented."""

from __future__ import annotations

import inspect
import re

import data_interaction_client
import DataInteractionClient as compat

EXPECTED = {
    "AsyncWriter",
    "QuarantinedBatch",
    "SpoolDiskFullError",
    "SpoolError",
    "SpoolLockedError",
    "WriteEvent",
    "Writer",
    "WriterClosedError",
    "WriterError",
    "WriterFullError",
    "WriterStats",
    "WriterTimeoutError",
    "plot_histories",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncDataInteractionClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "Columns",
    "ConflictError",
    "Connection",
    "DEFAULT_MAX_POINTS_PER_REQUEST",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MIN_THROUGHPUT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "DataInteractionClient",
    "DataInteractionError",
    "DataSourceAttributes",
    "DataSourceNotActiveError",
    "DataSourceNotActiveException",
    "DuplicateTagWarning",
    "InternalServerError",
    "InvalidInputError",
    "InvalidPointError",
    "InvalidResponseError",
    "NOT_GIVEN",
    "NoDataToSendError",
    "NoDataToSendException",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "PlatformError",
    "Point",
    "PointDict",
    "RateLimitError",
    "RequestTooLargeError",
    "RequestData",
    "ServerResponseErrorException",
    "Tag",
    "TagAttributes",
    "TagBusyError",
    "TagHistory",
    "TagId",
    "TagInfo",
    "TagPath",
    "Timestamp",
    "TimestampUnitWarning",
    "UnprocessableEntityError",
    "ValueType",
    "__version__",
}


def test_all_is_pinned() -> None:
    assert set(data_interaction_client.__all__) == EXPECTED
    assert len(data_interaction_client.__all__) == len(EXPECTED)


def test_every_public_name_exists_and_classes_and_functions_are_documented() -> None:
    for name in data_interaction_client.__all__:
        obj = getattr(data_interaction_client, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name
            for member_name, member in vars(obj).items():
                if not member_name.startswith("_") and (
                    inspect.isfunction(member) or isinstance(member, property)
                ):
                    assert inspect.getdoc(member), f"{name}.{member_name}"


def test_errors_report_the_package_as_their_module() -> None:
    assert data_interaction_client.PlatformError.__module__ == "data_interaction_client"
    assert data_interaction_client.InvalidPointError.__module__ == "data_interaction_client"


def test_pydoc_renders_the_package() -> None:
    import pydoc

    text = pydoc.render_doc(data_interaction_client, renderer=pydoc.plaintext)
    for name in ("DataInteractionClient", "AsyncDataInteractionClient", "Tag", "RequestData", "Point"):
        assert f"class {name}" in text, name
    assert "DataInteractionError" in text
    # Python 3.13's pydoc wraps a long signature over several lines.
    assert re.search(r"set_data\(\s*(?:\|\s*)*self,\s*(?:\|\s*)*tags", text)


def test_original_names_are_bases_of_the_typed_errors() -> None:
    # Code written for the original client catches what the client raises.
    package = data_interaction_client
    assert issubclass(package.PlatformError, package.ServerResponseErrorException)
    assert issubclass(package.DataSourceNotActiveError, package.DataSourceNotActiveException)
    assert issubclass(package.NoDataToSendError, package.NoDataToSendException)


def test_original_import_line_works() -> None:
    from DataInteractionClient import DataInteractionClient

    # The same client, whose three calls return plain JSON as the original did.
    assert issubclass(DataInteractionClient, data_interaction_client.DataInteractionClient)
    for name in set(compat.__all__) - {"DataInteractionClient", "ConnectAnswer"}:
        assert getattr(compat, name) is getattr(data_interaction_client, name)
    assert compat.ConnectAnswer.__doc__


def test_generated_models_do_not_leak() -> None:
    for name in data_interaction_client.__all__:
        module = getattr(getattr(data_interaction_client, name), "__module__", "") or ""
        assert not module.startswith("data_interaction_platform_api"), name


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("data_interaction_client").joinpath("py.typed").is_file()
