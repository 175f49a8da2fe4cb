from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TagPath")


@_attrs_define
class TagPath:
    """A tag named within its parent object."""

    tag_name: str
    parent_object_id: str

    def to_dict(self) -> dict[str, Any]:
        tag_name = self.tag_name

        parent_object_id = self.parent_object_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "tagName": tag_name,
                "parentObjectId": parent_object_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        tag_name = d.pop("tagName")

        parent_object_id = d.pop("parentObjectId")

        tag_path = cls(
            tag_name=tag_name,
            parent_object_id=parent_object_id,
        )

        return tag_path
