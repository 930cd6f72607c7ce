import pytest

from apps.metadata.validation import coerce_text, validate_metadata

SCHEMA = {
    "tier": {"type": "string", "optional": False, "allowed": ["Gold", "Silver"]},
    "score": {"type": "number", "min": 0, "max": 100},
    "vip": {"type": "boolean"},
    "joined": {"type": "date"},
    "seen": {"type": "datetime"},
    "avatar": {"type": "image_url"},
    "tags": {"type": "string", "array": True, "max_length": 5},
    "prefs": {"type": "object"},
}


def messages(metadata, **kwargs):
    return [str(e) for e in validate_metadata(metadata, SCHEMA, **kwargs)]


def test_valid_metadata_passes():
    assert (
        messages(
            {
                "tier": "Gold",
                "score": 99.5,
                "vip": True,
                "joined": "2026-01-31",
                "seen": "2026-01-31T10:00:00Z",
                "avatar": "https://cdn.example.com/a.png",
                "tags": ["a", "bb"],
                "prefs": {"x": 1},
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, "metadata.tier: is required"),
        ({"tier": "Bronze"}, "metadata.tier: must be one of Gold, Silver (got 'Bronze')"),
        ({"tier": "Gold", "score": 101}, "metadata.score: must be at most 100 (got 101)"),
        ({"tier": "Gold", "score": "7"}, "metadata.score: must be a number (got '7')"),
        ({"tier": "Gold", "score": True}, "metadata.score: must be a number (got True)"),
        ({"tier": "Gold", "vip": "yes"}, "metadata.vip: must be true or false (got 'yes')"),
        (
            {"tier": "Gold", "joined": "31/01/2026"},
            "metadata.joined: must be a date like 2026-01-31 (got '31/01/2026')",
        ),
        ({"tier": "Gold", "seen": "2026-01-31T10:00:00"}, "metadata.seen: needs a time zone"),
        ({"tier": "Gold", "avatar": "ftp://x/a.png"}, "metadata.avatar: must be an http(s) URL"),
        (
            {"tier": "Gold", "avatar": "https://x.com/a.pdf"},
            "metadata.avatar: must end with an image extension",
        ),
        ({"tier": "Gold", "tags": "a"}, "metadata.tags: must be a list of string values"),
        (
            {"tier": "Gold", "tags": ["ok", "toolong"]},
            "metadata.tags[1]: must be at most 5 characters",
        ),
        ({"tier": "Gold", "prefs": [1]}, "metadata.prefs: must be an object"),
    ],
)
def test_each_violation_names_the_key(metadata, expected):
    found = messages(metadata)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_allow_defined_only_refuses_unknown_keys():
    assert messages({"tier": "Gold", "color": "red"}, allow_defined_only=True) == [
        "metadata.color: is not defined in the metadata schema"
    ]
    assert messages({"tier": "Gold", "color": "red"}) == []


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("number", "12", 12),
        ("number", "1.5", 1.5),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("string", " x ", "x"),
        ("object", '{"a": 1}', {"a": 1}),
    ],
)
def test_coerce_text(kind, text, value):
    assert coerce_text(kind, text) == value


@pytest.mark.parametrize(
    ("kind", "text"),
    [("number", "abc"), ("number", "nan"), ("boolean", "maybe"), ("object", "[1]")],
)
def test_coerce_text_rejects(kind, text):
    with pytest.raises(ValueError):
        coerce_text(kind, text)
