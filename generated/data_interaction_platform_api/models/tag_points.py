from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.point import Point
    from ..models.tag_path import TagPath


T = TypeVar("T", bound="TagPoints")


@_attrs_define
class TagPoints:
    """Points to write to one tag."""

    tag_id: str | TagPath
    """ A tag's id, either a plain name or a name within a parent object. """
    data: list[Point]

    def to_dict(self) -> dict[str, Any]:
        from ..models.tag_path import TagPath

        tag_id: dict[str, Any] | str
        if isinstance(self.tag_id, TagPath):
            tag_id = self.tag_id.to_dict()
        else:
            tag_id = self.tag_id

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "tagId": tag_id,
                "data": data,
            }
        )

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
            data_item = Point.from_dict(data_item_data)

            data.append(data_item)

        tag_points = cls(
            tag_id=tag_id,
            data=data,
        )

        return tag_points
