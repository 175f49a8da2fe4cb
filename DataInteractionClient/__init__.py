"""The original client's import path: ``from DataInteractionClient import DataInteractionClient``.

Everything here is :mod:`data_interaction_client`; new code should import that instead.
"""

from data_interaction_client import (
    DataInteractionClient,
    DataSourceNotActiveException,
    NoDataToSendException,
    RequestData,
    ServerResponseErrorException,
    Tag,
)

__all__ = [
    "DataInteractionClient",
    "DataSourceNotActiveException",
    "NoDataToSendException",
    "RequestData",
    "ServerResponseErrorException",
    "Tag",
]
