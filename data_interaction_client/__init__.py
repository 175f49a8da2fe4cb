"""DataInteractionClient: the typed, fast client that connectors use to feed the industrial data platform.

A connector connects its data source, buffers points in the tags the platform names, and sends them;
it can read history back:

```python
from data_interaction_client import DataInteractionClient

with DataInteractionClient("http://127.0.0.1:8000") as client:
    conn = client.connect("1")                       # raises DataSourceNotActiveError if switched off
    tags = client.create_tags(conn["tags"])
    for tag in tags:
        tag.update([{"x": "2018-06-26 10:15:00", "y": 1}, {"x": "2018-06-26 10:15:01", "y": 2}])
    client.set_data(tags)                            # buffers are emptied once the platform accepts
    req = client.create_request_data(tag_id=[tag.id for tag in tags])
    req.update(from_time=100, to_time=1000000, max_count=100)
    for history in client.get_data(req):
        print(history.tag_id, history.points)
```

Connectors that run for months write through ``client.writer(spool="/var/lib/my-connector/spool")``
(a [`Writer`][data_interaction_client.Writer]): every point is on disk first and reaches the platform through
outages, ``kill -9`` and restarts. ``client.iter_history`` reads long periods page by page;
``client.get_frame`` and ``set_frame`` move pandas or polars frames in one call; ``data-interaction-client``
is the command line.

Every error is a [`DataInteractionError`][data_interaction_client.DataInteractionError] (the class tree below
shows them all; bad input is an [`InvalidInputError`][data_interaction_client.InvalidInputError], a failed
request an [`APIError`][data_interaction_client.APIError]).
[`AsyncDataInteractionClient`][data_interaction_client.AsyncDataInteractionClient] is the same client for
``asyncio``; [`data_interaction_client.emulator`][data_interaction_client.emulator] is the reference platform.
"""

import typing as _typing

from ._async_client import AsyncDataInteractionClient
from ._client import DataInteractionClient
from ._constants import (
    DEFAULT_MAX_POINTS_PER_REQUEST,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MIN_THROUGHPUT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    DataInteractionError,
    DataSourceNotActiveError,
    DuplicateTagWarning,
    InternalServerError,
    InvalidInputError,
    InvalidPointError,
    InvalidResponseError,
    NoDataToSendError,
    NotFoundError,
    PermissionDeniedError,
    PlatformError,
    RateLimitError,
    RequestTooLargeError,
    SpoolDiskFullError,
    SpoolError,
    SpoolLockedError,
    TagBusyError,
    TimestampUnitWarning,
    UnprocessableEntityError,
    WriterClosedError,
    WriterError,
    WriterFullError,
    WriterTimeoutError,
)
from ._logging import setup_logging as _setup_logging
from ._original_errors import (
    DataSourceNotActiveException,
    NoDataToSendException,
    ServerResponseErrorException,
)
from ._plot import plot_histories
from ._request_data import RequestData
from ._results import Columns, Connection, DataSourceAttributes, Point, TagHistory, TagInfo
from ._tag import Tag, TagAttributes, ValueType
from ._types import NOT_GIVEN, NotGiven, PointDict, TagId, TagPath, Timestamp
from ._version import __version__
from ._writer.async_writer import AsyncWriter
from ._writer.options import QuarantinedBatch, WriteEvent, WriterStats
from ._writer.writers import Writer

__all__ = [
    "DEFAULT_MAX_POINTS_PER_REQUEST",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MIN_THROUGHPUT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncDataInteractionClient",
    "AsyncWriter",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "Columns",
    "ConflictError",
    "Connection",
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
    "NoDataToSendError",
    "NoDataToSendException",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "PlatformError",
    "Point",
    "PointDict",
    "QuarantinedBatch",
    "RateLimitError",
    "RequestData",
    "RequestTooLargeError",
    "ServerResponseErrorException",
    "SpoolDiskFullError",
    "SpoolError",
    "SpoolLockedError",
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
    "WriteEvent",
    "Writer",
    "WriterClosedError",
    "WriterError",
    "WriterFullError",
    "WriterStats",
    "WriterTimeoutError",
    "__version__",
    "plot_histories",
]

_setup_logging()

# Public classes report the package as their home, so tracebacks and pydoc name them as users import
# them (not by the private module that defines them).
# Their annotations are resolved first, while their own module is still theirs to resolve them in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith(f"{__name__}._"):
        if "__annotations__" in vars(_obj):
            _obj.__annotations__ = _typing.get_type_hints(_obj, include_extras=True)
        _obj.__module__ = __name__
del _name, _obj
