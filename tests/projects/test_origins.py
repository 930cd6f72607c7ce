import pytest

from apps.projects.origins import normalize_origin, origin_allowed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Shop.Example.com/", "https://shop.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://*.example.com", "https://*.example.com"),
        ("*", "*"),
    ],
)
def test_normalize_origin(value, expected):
    assert normalize_origin(value) == expected


@pytest.mark.parametrize(
    "value", ["shop.example.com", "ftp://x.com", "https://x.com/path", "https://"]
)
def test_normalize_origin_rejects(value):
    with pytest.raises(ValueError, match="origin"):
        normalize_origin(value)


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        ("https://shop.example.com", ["https://shop.example.com"], True),
        ("https://SHOP.example.com", ["https://shop.example.com"], True),
        ("https://shop.example.com:8443", ["https://shop.example.com"], False),
        ("https://a.example.com", ["https://*.example.com"], True),
        ("https://a.b.example.com", ["https://*.example.com"], True),
        ("https://example.com", ["https://*.example.com"], False),
        ("https://badexample.com", ["https://*.example.com"], False),
        ("http://a.example.com", ["https://*.example.com"], False),
        ("https://anything.io", ["*"], True),
        (None, ["https://shop.example.com"], False),
        ("null", ["https://shop.example.com"], False),
    ],
)
def test_origin_allowed(origin, allowed, ok):
    assert origin_allowed(origin, allowed) is ok
