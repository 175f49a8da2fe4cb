"""The attempts of one request: everything of the send-and-retry loop but the I/O.

Each client's ``_send`` drives an `Attempts` in a loop of a few lines, the sync one with
``httpx.Client`` and ``time.sleep``, the async one with ``httpx.AsyncClient`` and ``asyncio.sleep``:

```python
while True:
    try:
        attempts.start(http.is_closed)            # the deadline's share of each timeout
        response = http.send(attempts.request, ...)
        answer = attempts.answer(response)        # a bounded buffer, decoding as it goes
        for chunk in response.iter_raw():
            attempts.take(answer, chunk)          # within the size limit and the deadline
        return process(attempts.request, attempts.finish(response, answer))
    except Exception as exc:
        error, delay = attempts.failed(exc)       # the package error, and the wait or None
    if delay is None:
        raise error
    time.sleep(delay)
```

`failed` turns whatever an attempt raised into the package's error for it (an httpx error, a limit, the
deadline) and asks the failure policy (``retry.py``'s `classify`) whether it is worth another attempt.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from .._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY
from .._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    InvalidResponseError,
)
from . import wire
from .answer_buffer import AnswerBuffer, AnswerTooLargeError
from .answers import READ, WholeResponse
from .deadline import Deadline
from .retry import Failure, backoff, classify
from .transport import ProxyChoice

__all__ = ["Attempts", "package_error", "should_retry"]

log = logging.getLogger("data_interaction_client.client")


class Attempts:
    """One request's attempts within its call's deadline: before each, its answer, after a failure.

    ``retries`` is how many attempts may follow the first; ``answer_limit`` the most decompressed
    bytes an answer may have; ``proxy`` the proxy of the client's own transport, named in errors.
    """

    __slots__ = ("_attempt", "_client", "_deadline", "_limit", "_phases", "_proxy", "_retries", "request")

    def __init__(
        self,
        request: httpx.Request,
        *,
        retries: int,
        deadline: Deadline,
        answer_limit: int,
        proxy: ProxyChoice | None,
        client: str,
    ) -> None:
        self.request = request
        self._phases: dict[str, Any] = dict(request.extensions["timeout"])
        self._retries = retries
        self._deadline = deadline
        self._limit = answer_limit
        self._proxy = proxy
        self._client = client  # the client's class name, for the message of a closed one
        self._attempt = 0

    def start(self, closed: bool) -> None:
        """Before each attempt: refuse a closed client, count the body, fit the timeouts in the deadline."""
        if closed:
            raise ClientClosedError(
                f"{self._client} is closed: make a new client (or use it within its 'with' block)"
            )
        request, deadline = self.request, self._deadline
        deadline.add(len(request.content))
        left = max(deadline.remaining(), 0.001)
        request.extensions["timeout"] = {
            phase: left if seconds is None else min(seconds, left) for phase, seconds in self._phases.items()
        }
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s: %d bytes", request.method, request.url.path, len(request.content))

    def answer(self, response: httpx.Response) -> AnswerBuffer:
        """Where the answer is read into, bounded by the limit for the request's path.

        A transport that hands over a response already read (a mock, say) has it decoded already.
        """
        if response.is_stream_consumed:
            answer = AnswerBuffer(self._limit)
            answer.add(response.content)
            return answer
        return AnswerBuffer(self._limit, response.headers.get("content-encoding"))

    def take(self, answer: AnswerBuffer, chunk: bytes) -> None:
        """Add a raw chunk of the answer, within its size limit and the call's deadline."""
        answer.add(chunk)
        deadline = self._deadline
        deadline.add(len(chunk))
        if deadline.remaining() <= 0:
            raise httpx.ReadTimeout("the call's deadline passed while the answer was read")

    @staticmethod
    def finish(response: httpx.Response, answer: AnswerBuffer) -> httpx.Response:
        """A response with the whole body, read (and decoded) through ``answer``.

        The stream of the response read goes: httpx binds a response and its stream to each other,
        and that cycle keeps the request, and with it the request body, alive until the next garbage
        collection. Without it, a chunked send frees each body as soon as its request is done, so the
        bodies held stay bounded.
        """
        content = answer.content()
        log.debug("HTTP %d, %d bytes", response.status_code, len(content))
        whole = WholeResponse(response, content)
        response.stream = READ
        return whole

    def failed(self, exc: Exception) -> tuple[APIError, float | None]:
        """The package error an attempt's failure stands for, and the seconds to wait before the next.

        ``None`` for no next attempt: the retries are spent, the failure is not worth one, or the wait
        would outlast the deadline. Anything unexpected (not httpx's, not the package's) is raised as
        it is.
        """
        error = package_error(exc, self.request, self._deadline, self._limit, self._proxy)
        self._attempt += 1
        return error, self._delay(error)

    def _delay(self, error: APIError) -> float | None:
        attempt, retries = self._attempt, self._retries
        if attempt > retries or not should_retry(error):
            return None
        delay = backoff(error, attempt, first=INITIAL_RETRY_DELAY, cap=MAX_RETRY_DELAY)
        if delay >= self._deadline.remaining():
            return None
        log.warning(
            "%s %s failed (%s); retrying in %.2f s, retry %d of %d",
            error.method,
            error.path,
            error.args[0] if error.args else type(error).__name__,
            delay,
            attempt,
            retries,
        )
        return delay


def should_retry(error: APIError) -> bool:
    """Whether a call of the client tries ``error`` again: the failure policy calls it transient."""
    return classify(error) is Failure.RETRY


def package_error(
    exc: Exception, request: httpx.Request, deadline: Deadline, answer_limit: int, proxy: ProxyChoice | None
) -> APIError:
    """The package error an attempt's failure stands for; anything unexpected is raised as it is."""
    method, path = request.method, request.url.path
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, AnswerTooLargeError):
        error: APIError = InvalidResponseError(
            f"the answer is larger than {answer_limit} bytes, the limit for {path}; "
            + (
                "read a shorter period or fewer tags, or raise max_response_bytes"
                if path == wire.GET_DATA_PATH
                else "the platform (or a proxy) sent far more than the contract's answer"
            ),
            method=method,
            path=path,
            status_code=0,
            body="",
        )
    elif isinstance(exc, httpx.TimeoutException | httpx.NetworkError) and deadline.remaining() <= 0.01:
        error = APITimeoutError(
            f"no whole answer within the call's deadline of {deadline.describe()}; raise "
            "total_timeout (or lower min_throughput) if the platform is this slow",
            method=method,
            path=path,
        )
    elif isinstance(exc, httpx.DecodingError):
        encoding = request.headers.get("accept-encoding", "")
        error = InvalidResponseError(
            f"the answer's body could not be decompressed ({type(exc).__name__}; the client accepts "
            f"{encoding!r}): a proxy or a broken connection mangled it",
            method=method,
            path=path,
            status_code=0,
            body="",
        )
        error._transient = True
    elif isinstance(exc, httpx.LocalProtocolError):
        # Its message may quote a header value, and so a secret: name the kind only.
        error = APIConnectionError(
            f"the request could not be written ({type(exc).__name__}); check headers and base_url",
            method=method,
            path=path,
        )
        error._transient = False
    elif isinstance(exc, httpx.TransportError):
        error = _transport_error(exc, request, proxy)
    elif isinstance(exc, httpx.HTTPError):
        error = APIConnectionError(
            f"the request failed ({type(exc).__name__}: {exc})", method=method, path=path
        )
    else:
        raise exc
    error.__cause__ = exc
    return error


def _transport_error(
    exc: httpx.TransportError, request: httpx.Request, proxy: ProxyChoice | None
) -> APIError:
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    through = f" through {proxy.describe()}" if proxy is not None else ""
    if isinstance(exc, httpx.TimeoutException):
        message = (
            f"no answer in time{through} ({cause}); "
            "raise the timeout if the platform is slow, or check the network"
        )
        return APITimeoutError(message, method=request.method, path=request.url.path)
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError):
        where = f"{request.url.scheme}://{request.url.netloc.decode()}"
        message = f"could not reach the platform at {where}{through} ({cause}); " + (
            "check base_url and that the platform is running"
            if proxy is None
            else proxy.advice(request.url.host)
        )
    else:
        message = f"the connection broke before a whole answer came{through} ({cause}); check the network"
    return APIConnectionError(message, method=request.method, path=request.url.path)
