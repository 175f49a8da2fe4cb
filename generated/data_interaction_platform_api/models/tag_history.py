from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.point import Point
    from ..models.tag_path import TagPath


T = TypeVar("T", bound="TagHistory")


@_attrs_define
class TagHistory:
    """The points of one requested tag."""

    tag_id: str | TagPath
    """ A tag's id, either a plain name or a name within a parent object. """
    data: list[list[Any | int | None | str] | Point]
    exceed: bool | Unset = UNSET
    """ True when the period held more points than asked for and they were thinned. The platform
    family sends it only when the request had `maxCount`; absent means false.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.point import Point
        from ..models.tag_path import TagPath

        tag_id: dict[str, Any] | str
        if isinstance(self.tag_id, TagPath):
            tag_id = self.tag_id.to_dict()
        else:
            tag_id = self.tag_id

        data = []
        for data_item_data in self.data:
            data_item: dict[str, Any] | list[Any | int | None | str]
            if isinstance(data_item_data, Point):
                data_item = data_item_data.to_dict()
            else:
                data_item = []
                for componentsschemas_point_array_item_data in data_item_data:
                    componentsschemas_point_array_item: Any | int | None | str
                    componentsschemas_point_array_item = (
                        componentsschemas_point_array_item_data
                    )
                    data_item.append(componentsschemas_point_array_item)

            data.append(data_item)

        exceed = self.exceed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tagId": tag_id,
                "data": data,
            }
        )
        if exceed is not UNSET:
            field_dict["exceed"] = exceed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.point import Point
        from ..models.tag_path import TagPath

        d = dict(src_dict)

        def _parse_tag_id(data: object) -> str | TagPath:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_tag_id_type_1 = TagPath.from_dict(data)

                return componentsschemas_tag_id_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TagPath, data)

        tag_id = _parse_tag_id(d.pop("tagId"))

        data = []
        _data = d.pop("data")
        for data_item_data in _data:

            def _parse_data_item(data: object) -> list[Any | int | None | str] | Point:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_history_point_type_0 = Point.from_dict(data)

                    return componentsschemas_history_point_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_history_point_type_1 = []
                _componentsschemas_history_point_type_1 = data
                for (
                    componentsschemas_point_array_item_data
                ) in _componentsschemas_history_point_type_1:

                    def _parse_componentsschemas_point_array_item(
                        data: object,
                    ) -> Any | int | None | str:
                        if data is None:
                            return data
                        return cast(Any | int | None | str, data)

                    componentsschemas_point_array_item = (
                        _parse_componentsschemas_point_array_item(
                            componentsschemas_point_array_item_data
                        )
                    )

                    componentsschemas_history_point_type_1.append(
                        componentsschemas_point_array_item
                    )

                return componentsschemas_history_point_type_1

            data_item = _parse_data_item(data_item_data)

            data.append(data_item)

        exceed = d.pop("exceed", UNSET)

        tag_history = cls(
            tag_id=tag_id,
            data=data,
            exceed=exceed,
        )

        tag_history.additional_properties = d
        return tag_history

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
