"""The original client's 1.0.0 tag tests, as its users have them, with only the import line changed.

They build tags by keyword (``Tag(id=..., attributes=...)``), read a dict tag id as a dict, give a
timestamp as a string of digits and expect ``data`` to show the point as given, and ``None`` for an
empty buffer.
"""

import pytest

from DataInteractionClient import Tag


def test_init_with_dict_id():
    tag_id = {"tagName": "tag1", "parentObjectId": "obj1"}
    attributes = {"attr1": "value1", "attr2": "value2"}
    tag = Tag(id=tag_id, attributes=attributes)
    assert tag.id["tagName"] == "tag1"
    assert tag.id["parentObjectId"] == "obj1"
    assert tag.attributes == attributes
    assert tag.data is None


def test_init_with_str_id():
    tag = Tag(id="tag2", attributes={"attr1": "value1"})
    assert tag.id == "tag2"
    assert tag.attributes == {"attr1": "value1"}
    assert tag.data is None


def test_add_data():
    tag = Tag(id="tag4", attributes={"attr1": "value1"})
    tag.add_data(x="563", y=1, q=0)
    assert tag.data[-1] == {"x": "563", "y": 1, "q": 0}


def test_init_with_dict_id_missing_keys():
    with pytest.raises(ValueError):
        Tag(id={"tagName": "tag3"}, attributes={"attr1": "value1"})


def test_clear_data():
    tag = Tag(id="tag6", attributes={"attr1": "value1"})
    tag.add_data("2018-06-26 17:16:00", 5555, 1)
    tag.add_data(x="563", y=1, q=0)
    tag.clear_data()
    assert tag.data is None
