from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Point")


@_attrs_define
class Point:
    """One value of a tag at one time."""

    x: int | str
    """ Integer microseconds since 1970-01-01T00:00:00Z, or an ISO 8601 date and time
    (`2018-06-26 10:15:00`, `2018-06-26T10:15:00.5+03:00`); a string without a zone means UTC.
    Either form stays within 0 to 9007199254740991 microseconds (1970-01-01T00:00:00Z to
    2255-06-05T23:47:34.740991Z). The string's pattern admits only real dates and times within
    that range; at its ends it is stricter, to stay a plain regular expression: 1970-01-01 takes
    `Z`, `+00:00`, `-hh:mm` or no zone; 2255-06-04 and 2255-06-05 take `Z`, `+hh:mm` or none, and
    no later date matches.
     """
    y: Any
    """ The value, any JSON value (null when there is none). """
    q: int | None | Unset = UNSET
    """ Quality code: 0 or null is a good value; 100 the link between platform and connector was lost;
    101 the platform was shut down; 102 the link between connector and its data source was lost.
     """

    def to_dict(self) -> dict[str, Any]:
        x: int | str
        x = self.x

        y = self.y

        q: int | None | Unset
        if isinstance(self.q, Unset):
            q = UNSET
        else:
            q = self.q

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "x": x,
                "y": y,
            }
        )
        if q is not UNSET:
            field_dict["q"] = q

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_x(data: object) -> int | str:
            return cast(int | str, data)

        x = _parse_x(d.pop("x"))

        y = d.pop("y")

        def _parse_q(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        q = _parse_q(d.pop("q", UNSET))

        point = cls(
            x=x,
            y=y,
            q=q,
        )

        return point
