"""Every error the SDK raises, under one base class.

The hierarchy:

```python
DataInteractionError
 ├── InvalidInputError (also a ValueError)      bad input, refused when it is given
 │    └── InvalidPointError                      names the tag, the point's index and the field
 ├── NoDataToSendError                           set_data found no buffered point
 ├── TagBusyError                                the tag is being sent by another call
 ├── ClientClosedError (also a RuntimeError)     a call on a client after close()
 ├── DataSourceNotActiveError                    connect: the data source is switched off
 ├── WriterError                                 the background writer (client.writer()) refused a call
 │    ├── WriterClosedError                      the writer is closed
 │    ├── WriterFullError                        its spool or queue is full (overflow "raise" or "block")
 │    ├── WriterTimeoutError (a TimeoutError)    sync() or flush() did not finish in time
 │    └── SpoolError                             the spool directory cannot be used
 │         ├── SpoolLockedError                  another writer holds the spool directory
 │         └── SpoolDiskFullError                the disk is full: the call's points were not kept
 └── APIError                                    the request failed; carries method and path
      ├── APIConnectionError                     no answer: refused, reset, DNS failure
      │    └── APITimeoutError                   no answer in time
      ├── InvalidResponseError                   an answer that is not the JSON the contract promises
      └── PlatformError                          the platform answered an error (error.id != 0 or 4xx/5xx)
           ├── BadRequestError                   400
           ├── AuthenticationError               401
           ├── PermissionDeniedError             403
           ├── NotFoundError                     404
           ├── ConflictError                     409
           ├── RequestTooLargeError              413: names the request's size and what to change
           ├── UnprocessableEntityError          422
           ├── RateLimitError                    429
           └── InternalServerError               5xx
```

The original client's exceptions are bases of their typed twins, so that its code catches what the
client raises: ``ServerResponseErrorException`` of ``PlatformError``, ``DataSourceNotActiveException`` of
``DataSourceNotActiveError`` and ``NoDataToSendException`` of ``NoDataToSendError`` (see
``_original_errors``); those carry ``.message``, as the original's did.

When a send fails, [`APIError`][data_interaction_client.APIError] carries ``points_sent``: how many points the
platform accepted before the failure (only set by ``set_data``); the rest stay buffered in their tags.
"""

from __future__ import annotations

from typing import Any

from ._original_errors import (
    DataSourceNotActiveException,
    NoDataToSendException,
    ServerResponseErrorException,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DataInteractionError",
    "DataSourceNotActiveError",
    "DuplicateTagWarning",
    "InternalServerError",
    "InvalidInputError",
    "InvalidPointError",
    "InvalidResponseError",
    "NoDataToSendError",
    "NotFoundError",
    "PermissionDeniedError",
    "PlatformError",
    "RateLimitError",
    "RequestTooLargeError",
    "SpoolDiskFullError",
    "SpoolError",
    "SpoolLockedError",
    "TagBusyError",
    "TimestampUnitWarning",
    "UnprocessableEntityError",
    "WriterClosedError",
    "WriterError",
    "WriterFullError",
    "WriterTimeoutError",
]


class DataInteractionError(Exception):
    """Base class of every error raised by DataInteractionClient.

    Every error survives ``pickle`` with its fields, so that one raised in a worker process (a
    ``ProcessPoolExecutor``, multiprocessing) reaches the parent as itself.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls the class with ``args``, which fails for the errors whose
        # fields are keyword-only: rebuild without __init__, then restore every field from __dict__.
        return (_rebuild_error, (type(self), self.args), self.__dict__ or None)


def _rebuild_error(cls: type[DataInteractionError], args: tuple[Any, ...]) -> DataInteractionError:
    """An error of ``cls`` with ``args`` but no field yet, for pickle (its state restores them)."""
    error = cls.__new__(cls)
    error.args = args
    return error


class InvalidInputError(DataInteractionError, ValueError):
    """A value given to the SDK is not valid; nothing was changed or sent."""


class InvalidPointError(InvalidInputError):
    """A point given to a tag is not valid; the tag's buffer is unchanged.

    ``tag_id`` names the tag, ``index`` the point's position in what was given (``None`` for a single
    point given to ``add_data``) and ``field`` the offending key (``"x"``, ``"y"``, ``"q"``, or ``None``
    when the point itself has the wrong shape).
    """

    def __init__(self, tag_id: object, index: int | None, field: str | None, problem: str) -> None:
        self.tag_id = tag_id
        self.index = index
        self.field = field
        self.problem = problem
        where = f"tag {tag_id!r}"
        if index is not None:
            where += f", point {index}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class TimestampUnitWarning(UserWarning):
    """An integer timestamp so small (before 1970-04-27) that it is likely in seconds or milliseconds.

    Integer timestamps are microseconds since the epoch. The SDK warns once per tag and sends the point
    as given; silence it with ``warnings.filterwarnings("ignore", category=TimestampUnitWarning)``.
    """


class DuplicateTagWarning(UserWarning):
    """One ``set_data`` call holds a tag twice (two ``Tag`` objects with one id).

    Every point is sent, and ``set_data`` counts them all; the platform keeps one point per tag and
    timestamp, the last sent. The warning says how many points of the tag the platform will keep.
    """


class NoDataToSendError(DataInteractionError, NoDataToSendException):
    """``set_data`` was called but none of the given tags has a buffered point."""


class TagBusyError(DataInteractionError):
    """A tag given to ``set_data`` is already being sent by another call; nothing was sent."""


class ClientClosedError(DataInteractionError, RuntimeError):
    """A call was made on a client that is closed; make a new client."""


class DataSourceNotActiveError(DataInteractionError, DataSourceNotActiveException):
    """The platform says the data source is switched off (``smtActive`` is false)."""

    def __init__(self, data_source_id: str) -> None:
        self.data_source_id = data_source_id
        super().__init__(
            f"data source {data_source_id!r} is not active on the platform (smtActive is false): "
            "switch it on in the platform, or connect another data source"
        )


class APIError(DataInteractionError):
    """A request to the platform failed.

    ``method`` and ``path`` name the request; ``points_sent`` is set by ``set_data`` to the number of
    points the platform accepted before the failure (the others stay buffered).
    """

    points_sent: int | None
    # Whether trying again may help, when the class alone does not say (see _http/attempts.should_retry).
    _transient: bool | None = None

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.points_sent = None
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{self.method} {self.path}: {self._message()}"
        if self.points_sent is not None:
            text += f" ({self.points_sent} points were accepted before the failure; the rest stay buffered)"
        return text

    def _message(self) -> str:
        return str(self.args[0])


class APIConnectionError(APIError):
    """No answer came from the platform: the connection was refused, reset or could not be made."""


class APITimeoutError(APIConnectionError):
    """No answer came from the platform in time."""


class InvalidResponseError(APIError):
    """The platform's answer is not the JSON the contract promises (an HTML page, truncated JSON, ...).

    ``status_code`` is the HTTP status and ``body`` the start of the answer's body.
    """

    def __init__(self, message: str, *, method: str, path: str, status_code: int, body: str) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message, method=method, path=path)


class PlatformError(APIError, ServerResponseErrorException):
    """The platform answered an error: a non-zero ``error.id``, or an HTTP 4xx/5xx status.

    ``status_code`` is the HTTP status (200 when only the envelope says so); ``error_id`` and
    ``error_message`` are the envelope's, or ``None`` when the answer carried none. ``body`` is the
    answer's text (at most its first 16 KiB: a proxy's error page, say), or ``None``. A
    ``ServerResponseErrorException``, the original client's exception, for its code.
    """

    hint = ""
    body: str | None = None

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int,
        error_id: int | None = None,
        error_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_id = error_id
        self.error_message = error_message
        self.retry_after = retry_after
        super().__init__(message, method=method, path=path)


class BadRequestError(PlatformError):
    """HTTP 400: the platform refused the request."""


class AuthenticationError(PlatformError):
    """HTTP 401: the platform wants a token, or refused the one given."""

    hint = "check the token given to the client (token=...)"


class PermissionDeniedError(PlatformError):
    """HTTP 403: the token is not allowed to do this."""

    hint = "check the token's rights on the platform"


class NotFoundError(PlatformError):
    """HTTP 404: no such data source (or path) on the platform."""

    hint = "check the data source id and the client's base_url"


class ConflictError(PlatformError):
    """HTTP 409: the request conflicts with the platform's state."""


class RequestTooLargeError(PlatformError):
    """HTTP 413: the request is larger than the platform, or a proxy in front of it, accepts.

    ``request_bytes`` is the size of the request's body as sent; ``points`` how many points it held
    (set by ``set_data``, ``None`` for other calls). ``set_data`` splits a refused request in halves and
    goes on, so it raises this only when a single point is refused: one value is too large.
    """

    request_bytes: int | None = None
    points: int | None = None
    max_points_per_request: int | None = None

    def _message(self) -> str:
        text = str(self.args[0])
        size = "the request" if self.request_bytes is None else f"the request of {self.request_bytes} bytes"
        if self.points == 1:
            return (
                f"{text}; {size} held a single point, so one value is too large for the platform or a "
                "proxy in front of it (such as nginx's client_max_body_size): send smaller values, or "
                "raise that limit"
            )
        if self.points is not None:
            size += f" with {self.points} points"
        advice = "lower max_points_per_request"
        if self.max_points_per_request is not None:
            advice += f" (now {self.max_points_per_request})"
        return f"{text}; {size} is too large for the platform or a proxy in front of it: {advice}"


class UnprocessableEntityError(PlatformError):
    """HTTP 422: the platform found the request body invalid; nothing of it was stored."""

    hint = "the body broke the platform's contract: check the values the message names"


class RateLimitError(PlatformError):
    """HTTP 429: too many requests; ``retry_after`` says how long the platform asked to wait."""

    hint = "send less often or in larger batches"


class InternalServerError(PlatformError):
    """HTTP 5xx: the platform (or a proxy in front of it) failed."""

    hint = "the platform or a proxy in front of it failed; try again later"


_STATUS_ERRORS: dict[int, type[PlatformError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def platform_error(
    *,
    method: str,
    path: str,
    status_code: int,
    error_id: int | None,
    error_message: str | None,
    retry_after: float | None = None,
    detail: Any = None,
    body: str | None = None,
    request_bytes: int | None = None,
) -> PlatformError:
    """Build the most specific `PlatformError` for an answer's status and envelope.

    The one mapping of a status to its class; ``body`` is the answer's text kept on the error, and
    ``request_bytes`` the size of the request refused (read by
    [`RequestTooLargeError`][data_interaction_client.RequestTooLargeError]).
    """
    cls = _STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else PlatformError
    message = f"HTTP {status_code}"
    if error_id is not None:
        message += f", platform error {error_id}: {printable(error_message or '(no message)')}"
    elif detail:
        message += f": {detail}"
    if cls.hint:
        message += f" ({cls.hint})"
    error = cls(
        message,
        method=method,
        path=path,
        status_code=status_code,
        error_id=error_id,
        error_message=error_message,
        retry_after=retry_after,
    )
    error.body = body
    if isinstance(error, RequestTooLargeError):
        error.request_bytes = request_bytes
    return error


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped, for messages (ESC as x1b).

    Text from an answer may hold terminal escape sequences or line breaks that would forge log lines.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


# --- the background writer (client.writer()) -------------------------------------------------------


class WriterError(DataInteractionError):
    """The background writer refused a call, or could not do what it was asked in time."""


class WriterClosedError(WriterError):
    """The writer is closed: it takes no more points."""


class WriterFullError(WriterError):
    """The writer's spool (``max_spool_bytes``) or queue (``max_pending_points``) is full.

    Raised by ``write``, ``write_points`` and ``write_tags`` with ``overflow="raise"``, or with
    ``overflow="block"`` once ``block_timeout`` has passed; none of the call's points were kept.
    ``points`` is how many the call gave.
    """

    def __init__(self, message: str, *, points: int) -> None:
        self.points = points
        super().__init__(message)


class WriterTimeoutError(WriterError, TimeoutError):
    """``sync()`` or ``flush()`` did not finish within its timeout; nothing is lost, the writer goes on."""


class SpoolError(WriterError):
    """The spool directory cannot be used (it cannot be created, read or written).

    ``path`` names the directory or file.
    """

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class SpoolLockedError(SpoolError):
    """Another writer (in this process or another one) holds the spool directory.

    One writer per spool directory: give each writer its own directory.
    """


class SpoolDiskFullError(SpoolError):
    """The disk (or the spool file's size limit) is full; the points of the call that raised it were not kept.

    The writer keeps the points it took before and goes on once there is space again.
    """
