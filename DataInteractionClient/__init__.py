"""The original client's import path: ``from DataInteractionClient import DataInteractionClient``.

Code written for the original client runs as it was: here ``connect``, ``set_data`` and ``get_data``
return the platform's JSON answers as plain dicts, as they did (``connect``'s answer is also the list
of ready tags, a [`ConnectAnswer`][DataInteractionClient.ConnectAnswer]). New code should import
[`data_interaction_client`][data_interaction_client], whose client returns typed results.
"""

from data_interaction_client import (
    DataSourceNotActiveException,
    NoDataToSendException,
    RequestData,
    ServerResponseErrorException,
    Tag,
)
from data_interaction_client._compat import ConnectAnswer, DataInteractionClient

__all__ = [
    "ConnectAnswer",
    "DataInteractionClient",
    "DataSourceNotActiveException",
    "NoDataToSendException",
    "RequestData",
    "ServerResponseErrorException",
    "Tag",
]
