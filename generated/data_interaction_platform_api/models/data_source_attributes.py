from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DataSourceAttributes")


@_attrs_define
class DataSourceAttributes:
    """Attributes of a data source; more keys than these may come."""

    smt_active: bool
    """ False when the data source is switched off. """
    smt_json_config_string: str | Unset = UNSET
    """ The connector's own configuration, a JSON text. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        smt_active = self.smt_active

        smt_json_config_string = self.smt_json_config_string

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "smtActive": smt_active,
            }
        )
        if smt_json_config_string is not UNSET:
            field_dict["smtJsonConfigString"] = smt_json_config_string

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        smt_active = d.pop("smtActive")

        smt_json_config_string = d.pop("smtJsonConfigString", UNSET)

        data_source_attributes = cls(
            smt_active=smt_active,
            smt_json_config_string=smt_json_config_string,
        )

        data_source_attributes.additional_properties = d
        return data_source_attributes

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
