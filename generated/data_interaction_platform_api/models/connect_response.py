from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_source_attributes import DataSourceAttributes
    from ..models.error_info import ErrorInfo
    from ..models.tag_info import TagInfo


T = TypeVar("T", bound="ConnectResponse")


@_attrs_define
class ConnectResponse:
    error: ErrorInfo
    """ `id` 0 and an empty `message` mean success; any other `id` is a platform error. """
    attributes: DataSourceAttributes
    """ Attributes of a data source; more keys than these may come. """
    tags: list[TagInfo] | Unset = UNSET
    """ The tags to feed; empty or absent when the data source is not active. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error.to_dict()

        attributes = self.attributes.to_dict()

        tags: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = []
            for tags_item_data in self.tags:
                tags_item = tags_item_data.to_dict()
                tags.append(tags_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "attributes": attributes,
            }
        )
        if tags is not UNSET:
            field_dict["tags"] = tags

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.data_source_attributes import DataSourceAttributes
        from ..models.error_info import ErrorInfo
        from ..models.tag_info import TagInfo

        d = dict(src_dict)
        error = ErrorInfo.from_dict(d.pop("error"))

        attributes = DataSourceAttributes.from_dict(d.pop("attributes"))

        _tags = d.pop("tags", UNSET)
        tags: list[TagInfo] | Unset = UNSET
        if _tags is not UNSET:
            tags = []
            for tags_item_data in _tags:
                tags_item = TagInfo.from_dict(tags_item_data)

                tags.append(tags_item)

        connect_response = cls(
            error=error,
            attributes=attributes,
            tags=tags,
        )

        connect_response.additional_properties = d
        return connect_response

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
