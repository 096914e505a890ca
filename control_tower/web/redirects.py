"""Where a sign-in may send the browser afterwards: a path of this site, never another site.

The `next` a login URL carries is parsed, not filtered by characters: it is
kept only when it is a path with no scheme and no host, both as sent and once
percent-decoded, and holds no backslash and no control or invisible character
(browsers drop tabs and newlines from URLs and read `\\` as `/`, which would
turn `/\\t/evil.example` into `//evil.example`, another site).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote, urlsplit, urlunsplit

LOGIN_PATH = "/login"
MAX_NEXT_LENGTH = 2000

__all__ = ["LOGIN_PATH", "MAX_NEXT_LENGTH", "login_url", "safe_next"]


def _suspicious(text: str) -> bool:
    """A backslash, or a character of Unicode category C (controls, format, unassigned)."""
    return "\\" in text or any(unicodedata.category(c).startswith("C") for c in text)


def _leaves_site(text: str) -> bool:
    """A scheme or host, or a scheme-relative start (`//`, `///`: browsers read a host there)."""
    parts = urlsplit(text)
    return bool(parts.scheme or parts.netloc) or not text.startswith("/") or text.startswith("//")


def safe_next(target: str | None) -> str | None:
    """`target` as a same-origin path (with its query and fragment), or None when it is not one."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    decoded = unquote(target)
    if _suspicious(target) or _suspicious(decoded):
        return None
    if _leaves_site(target) or _leaves_site(decoded):
        return None
    parts = urlsplit(target)
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def login_url(root: str, target: str, **extra: str) -> str:
    """The sign-in page's URL that leads back to `target` afterwards."""
    query = "".join(f"&{key}={quote(value)}" for key, value in extra.items())
    return f"{root}{LOGIN_PATH}?next={quote(target, safe='/')}{query}"
