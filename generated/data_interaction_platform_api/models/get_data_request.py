from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tag_path import TagPath


T = TypeVar("T", bound="GetDataRequest")


@_attrs_define
class GetDataRequest:
    tag_id: list[str | TagPath] | str | TagPath
    """ One tag id or a list of them. """
    from_: int | str | Unset = UNSET
    """ Integer microseconds since 1970-01-01T00:00:00Z, or an ISO 8601 date and time
    (`2018-06-26 10:15:00`, `2018-06-26T10:15:00.5+03:00`); a string without a zone means UTC.
    Either form stays within 0 to 9007199254740991 microseconds (1970-01-01T00:00:00Z to
    2255-06-05T23:47:34.740991Z). The string's pattern admits only real dates and times within
    that range; at its ends it is stricter, to stay a plain regular expression: 1970-01-01 takes
    `Z`, `+00:00`, `-hh:mm` or no zone; 2255-06-04 and 2255-06-05 take `Z`, `+hh:mm` or none, and
    no later date matches.
     """
    to: int | str | Unset = UNSET
    """ Integer microseconds since 1970-01-01T00:00:00Z, or an ISO 8601 date and time
    (`2018-06-26 10:15:00`, `2018-06-26T10:15:00.5+03:00`); a string without a zone means UTC.
    Either form stays within 0 to 9007199254740991 microseconds (1970-01-01T00:00:00Z to
    2255-06-05T23:47:34.740991Z). The string's pattern admits only real dates and times within
    that range; at its ends it is stricter, to stay a plain regular expression: 1970-01-01 takes
    `Z`, `+00:00`, `-hh:mm` or no zone; 2255-06-04 and 2255-06-05 take `Z`, `+hh:mm` or none, and
    no later date matches.
     """
    max_count: int | Unset = UNSET
    """ At most this many points per tag; more in the period are thinned and `exceed` is set. """
    time_step: int | Unset = UNSET
    """ Microseconds between returned points; the series is resampled on that grid. """
    format_: bool | Unset = UNSET
    """ True to get timestamps back as ISO 8601 strings. """
    actual: bool | Unset = UNSET
    """ True for stored values only, no interpolated boundary points. """
    value: Any | Unset = UNSET
    """ Only points whose `y` equals this value (or one of these values, given a list). """

    def to_dict(self) -> dict[str, Any]:
        from ..models.tag_path import TagPath

        tag_id: dict[str, Any] | list[dict[str, Any] | str] | str
        if isinstance(self.tag_id, TagPath):
            tag_id = self.tag_id.to_dict()
        elif isinstance(self.tag_id, list):
            tag_id = []
            for tag_id_type_1_item_data in self.tag_id:
                tag_id_type_1_item: dict[str, Any] | str
                if isinstance(tag_id_type_1_item_data, TagPath):
                    tag_id_type_1_item = tag_id_type_1_item_data.to_dict()
                else:
                    tag_id_type_1_item = tag_id_type_1_item_data
                tag_id.append(tag_id_type_1_item)

        else:
            tag_id = self.tag_id

        from_: int | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        else:
            from_ = self.from_

        to: int | str | Unset
        if isinstance(self.to, Unset):
            to = UNSET
        else:
            to = self.to

        max_count = self.max_count

        time_step = self.time_step

        format_ = self.format_

        actual = self.actual

        value = self.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "tagId": tag_id,
            }
        )
        if from_ is not UNSET:
            field_dict["from"] = from_
        if to is not UNSET:
            field_dict["to"] = to
        if max_count is not UNSET:
            field_dict["maxCount"] = max_count
        if time_step is not UNSET:
            field_dict["timeStep"] = time_step
        if format_ is not UNSET:
            field_dict["format"] = format_
        if actual is not UNSET:
            field_dict["actual"] = actual
        if value is not UNSET:
            field_dict["value"] = value

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.tag_path import TagPath

        d = dict(src_dict)

        def _parse_tag_id(data: object) -> list[str | TagPath] | str | TagPath:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_tag_id_type_1 = TagPath.from_dict(data)

                return componentsschemas_tag_id_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                tag_id_type_1 = []
                _tag_id_type_1 = data
                for tag_id_type_1_item_data in _tag_id_type_1:

                    def _parse_tag_id_type_1_item(data: object) -> str | TagPath:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            componentsschemas_tag_id_type_1 = TagPath.from_dict(data)

                            return componentsschemas_tag_id_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(str | TagPath, data)

                    tag_id_type_1_item = _parse_tag_id_type_1_item(
                        tag_id_type_1_item_data
                    )

                    tag_id_type_1.append(tag_id_type_1_item)

                return tag_id_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str | TagPath] | str | TagPath, data)

        tag_id = _parse_tag_id(d.pop("tagId"))

        def _parse_from_(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        from_ = _parse_from_(d.pop("from", UNSET))

        def _parse_to(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        to = _parse_to(d.pop("to", UNSET))

        max_count = d.pop("maxCount", UNSET)

        time_step = d.pop("timeStep", UNSET)

        format_ = d.pop("format", UNSET)

        actual = d.pop("actual", UNSET)

        value = d.pop("value", UNSET)

        get_data_request = cls(
            tag_id=tag_id,
            from_=from_,
            to=to,
            max_count=max_count,
            time_step=time_step,
            format_=format_,
            actual=actual,
            value=value,
        )

        return get_data_request
