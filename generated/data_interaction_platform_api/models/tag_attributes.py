from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TagAttributes")


@_attrs_define
class TagAttributes:
    """Attributes of a tag; more keys than these may come."""

    smt_tag_value_type_code: int | Unset = UNSET
    """ 0 integer, 1 float, 2 string, 3 discrete, 4 JSON. """
    smt_tag_value_scale: float | Unset = UNSET
    """ Scale factor of the value. """
    smt_tag_max_dev: float | Unset = UNSET
    """ Deadband; a change smaller than this need not be sent. """
    smt_tag_source: str | Unset = UNSET
    """ Where the connector reads the value, a JSON text. """
    smt_step: bool | Unset = UNSET
    """ True for a step tag, whose value holds until the next point (no interpolation). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        smt_tag_value_type_code = self.smt_tag_value_type_code

        smt_tag_value_scale = self.smt_tag_value_scale

        smt_tag_max_dev = self.smt_tag_max_dev

        smt_tag_source = self.smt_tag_source

        smt_step = self.smt_step

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if smt_tag_value_type_code is not UNSET:
            field_dict["smtTagValueTypeCode"] = smt_tag_value_type_code
        if smt_tag_value_scale is not UNSET:
            field_dict["smtTagValueScale"] = smt_tag_value_scale
        if smt_tag_max_dev is not UNSET:
            field_dict["smtTagMaxDev"] = smt_tag_max_dev
        if smt_tag_source is not UNSET:
            field_dict["smtTagSource"] = smt_tag_source
        if smt_step is not UNSET:
            field_dict["smtStep"] = smt_step

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        smt_tag_value_type_code = d.pop("smtTagValueTypeCode", UNSET)

        smt_tag_value_scale = d.pop("smtTagValueScale", UNSET)

        smt_tag_max_dev = d.pop("smtTagMaxDev", UNSET)

        smt_tag_source = d.pop("smtTagSource", UNSET)

        smt_step = d.pop("smtStep", UNSET)

        tag_attributes = cls(
            smt_tag_value_type_code=smt_tag_value_type_code,
            smt_tag_value_scale=smt_tag_value_scale,
            smt_tag_max_dev=smt_tag_max_dev,
            smt_tag_source=smt_tag_source,
            smt_step=smt_step,
        )

        tag_attributes.additional_properties = d
        return tag_attributes

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
