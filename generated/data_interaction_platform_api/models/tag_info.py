from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.tag_attributes import TagAttributes
    from ..models.tag_path import TagPath


T = TypeVar("T", bound="TagInfo")


@_attrs_define
class TagInfo:
    """A tag the connector must feed."""

    id: str | TagPath
    """ A tag's id, either a plain name or a name within a parent object. """
    attributes: TagAttributes
    """ Attributes of a tag; more keys than these may come. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tag_path import TagPath

        id: dict[str, Any] | str
        if isinstance(self.id, TagPath):
            id = self.id.to_dict()
        else:
            id = self.id

        attributes = self.attributes.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "attributes": attributes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.tag_attributes import TagAttributes
        from ..models.tag_path import TagPath

        d = dict(src_dict)

        def _parse_id(data: object) -> str | TagPath:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_tag_id_type_1 = TagPath.from_dict(data)

                return componentsschemas_tag_id_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TagPath, data)

        id = _parse_id(d.pop("id"))

        attributes = TagAttributes.from_dict(d.pop("attributes"))

        tag_info = cls(
            id=id,
            attributes=attributes,
        )

        tag_info.additional_properties = d
        return tag_info

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
