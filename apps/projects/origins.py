"""Origins for client-side keys: normalising what people type, matching the Origin header."""

from urllib.parse import urlsplit


def normalize_origin(value: str) -> str:
    """`https://Shop.example.com/` -> `https://shop.example.com`; `*` stays `*`.

    `https://*.example.com` allows any subdomain. Raises ValueError with a readable reason.
    """
    value = value.strip()
    if value == "*":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{value}” is not an origin; write it like https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"“{value}” has a path; an origin is only scheme, host and port")
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    if "*" in allowed:
        return True
    if not origin:
        return False
    try:
        origin = normalize_origin(origin)
    except ValueError:
        return False
    for pattern in allowed:
        if pattern == origin:
            return True
        scheme, _, host = pattern.partition("://")
        if host.startswith("*.") and origin.startswith(f"{scheme}://"):
            suffix = host[1:]  # ".example.com[:port]"
            if origin.endswith(suffix) and len(origin) > len(scheme) + 3 + len(suffix):
                return True
    return False
