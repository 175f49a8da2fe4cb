"""The original client's three exceptions, as its code raises and catches them.

Each is a base class of the package's typed error of the same meaning, so that code written for the
original client catches what this client raises:

```python
except DataSourceNotActiveException as e:   # catches DataSourceNotActiveError, e.data_source_id
    print(e.message)
```

and its own ``raise NoDataToSendException()`` (say, in a test's mock) works as it did: no argument
or a message, ``.message``, and the original's Russian texts by default. The module imports nothing
of the package, so that ``_exceptions`` can build on it.
"""

from __future__ import annotations

__all__ = ["DataSourceNotActiveException", "NoDataToSendException", "ServerResponseErrorException"]


class _OriginalError(Exception):
    """What the original's exceptions share: ``message``, the text ``str()`` gives."""

    @property
    def message(self) -> str:
        """The error's text, as the original client's exceptions carried it."""
        return str(self)


class DataSourceNotActiveException(_OriginalError):
    """The original client's exception for a data source that is switched off.

    Raised by the client as its subclass
    [`DataSourceNotActiveError`][data_interaction_client.DataSourceNotActiveError]; by itself it takes no
    argument (the message is "Источник данных неактивен.", as in the original) or a message.
    """

    def __init__(self, message: str = "Источник данных неактивен.") -> None:
        super().__init__(message)


class NoDataToSendException(_OriginalError):
    """The original client's exception for a send without points.

    Raised by the client as its subclass [`NoDataToSendError`][data_interaction_client.NoDataToSendError];
    by itself it takes no argument (the message is "Нет данных для отправки.") or a message.
    """

    def __init__(self, message: str = "Нет данных для отправки.") -> None:
        super().__init__(message)


class ServerResponseErrorException(_OriginalError):
    """The original client's exception for an error the platform answered.

    Raised by the client as its subclass [`PlatformError`][data_interaction_client.PlatformError] (and
    that one's subclasses, one per HTTP status). By itself, ``ServerResponseErrorException(message)``
    reads "Сервер вернул внутреннюю ошибку: {message}", as in the original.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(message)

    def __str__(self) -> str:
        # The subclasses (PlatformError) have their own text; the prefix is the original's own.
        # args keeps the message as given, so that a pickled error comes back unchanged.
        return f"Сервер вернул внутреннюю ошибку: {self.args[0] if self.args else ''}"
