from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.error_info import ErrorInfo
    from ..models.tag_history import TagHistory


T = TypeVar("T", bound="GetDataResponse")


@_attrs_define
class GetDataResponse:
    error: ErrorInfo
    """ `id` 0 and an empty `message` mean success; any other `id` is a platform error. """
    data: list[TagHistory]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error.to_dict()

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_info import ErrorInfo
        from ..models.tag_history import TagHistory

        d = dict(src_dict)
        error = ErrorInfo.from_dict(d.pop("error"))

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = TagHistory.from_dict(data_item_data)

            data.append(data_item)

        get_data_response = cls(
            error=error,
            data=data,
        )

        get_data_response.additional_properties = d
        return get_data_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
