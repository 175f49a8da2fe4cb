"""Contains all the data models used in inputs/outputs"""

from .connect_request import ConnectRequest
from .connect_response import ConnectResponse
from .data_source_attributes import DataSourceAttributes
from .error_info import ErrorInfo
from .error_response import ErrorResponse
from .get_data_request import GetDataRequest
from .get_data_response import GetDataResponse
from .point import Point
from .set_data_request import SetDataRequest
from .tag_attributes import TagAttributes
from .tag_history import TagHistory
from .tag_info import TagInfo
from .tag_path import TagPath
from .tag_points import TagPoints

__all__ = (
    "ConnectRequest",
    "ConnectResponse",
    "DataSourceAttributes",
    "ErrorInfo",
    "ErrorResponse",
    "GetDataRequest",
    "GetDataResponse",
    "Point",
    "SetDataRequest",
    "TagAttributes",
    "TagHistory",
    "TagInfo",
    "TagPath",
    "TagPoints",
)
