"""Database and Redis URLs: read them as the user meant, and show them without the password.

>>> mask_url("postgresql://ann:s3cret@db:5432/shop")
'postgresql://ann:***@db:5432/shop'
>>> mask_url("redis://:s3cret@cache:6379/0")
'redis://:***@cache:6379/0'

Every URL perflab prints (``perflab info``, ``perflab doctor``, error messages, :func:`perflab.db.describe`)
goes through :func:`mask_url`. The rule, for every scheme:

- the password of ``user:password@`` is shown as ``***``, also when the user name is empty
  (``redis://:pw@host``) and when the password holds an unencoded ``@`` (the user info ends at the
  last ``@`` before the query);
- query parameters that carry a password (``password``, ``passwd``, ``pwd``, and libpq's ``sslpassword`` for the
  client key; any case) are shown as ``***``;
- a URL that cannot be parsed is masked by the same two rules on its text: never echoed with its password.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

HIDDEN = "***"
_SECRET_PARAM = re.compile(r"([?&;](?:ssl)?(?:password|passwd|pwd)=)[^&;#]*", re.IGNORECASE)


def parse_url(url: str) -> URL:
    """Parse a URL with SQLAlchemy's ``make_url``, reading an unencoded ``@`` in the password as the user meant.

    >>> parse_url("postgresql://ann:p@ss@db/shop").password
    'p@ss'

    Parameters:
        url: a database or Redis URL. Raises ``ValueError`` when it cannot be parsed.
    """
    try:
        return make_url(_encode_at_signs(url))
    except Exception as exc:  # make_url raises ArgumentError, ValueError or TypeError depending on the flaw
        raise ValueError(f"cannot parse the URL ({type(exc).__name__})") from None


def mask_url(url: str | URL) -> str:
    """The URL as text with every password replaced by ``***``; unchanged when it holds none.

    >>> mask_url("postgresql://ann@db/shop?PASSWORD=s3cret&sslmode=require")
    'postgresql://ann@db/shop?PASSWORD=***&sslmode=require'
    >>> mask_url("sqlite:////tmp/perflab.sqlite")
    'sqlite:////tmp/perflab.sqlite'

    Parameters:
        url: a database or Redis URL, as text or as a SQLAlchemy ``URL``.
    """
    if isinstance(url, URL):
        return _SECRET_PARAM.sub(rf"\1{HIDDEN}", url.render_as_string(hide_password=True))
    try:
        parsed = parse_url(url)
    except ValueError:
        return _mask_text(url)
    if parsed.password is None:
        found = _userinfo(url)
        if found is not None and ":" in found[1]:
            return _mask_text(url)  # "user:...@" that make_url read otherwise: be safe, not pretty
        if not _SECRET_PARAM.search(url):
            return url  # nothing to hide: keep the user's own spelling (paths are not re-encoded)
    return _SECRET_PARAM.sub(rf"\1{HIDDEN}", parsed.render_as_string(hide_password=True))


def hide_secrets(text: str, *urls: str | URL | None) -> str:
    """``text`` (e.g. a driver's error message) with the passwords of ``urls`` replaced by ``***``.

    >>> hide_secrets("auth failed with s3cret", "redis://:s3cret@cache")
    'auth failed with ***'

    Parameters:
        text: the text to clean. urls: the URLs whose passwords must not appear in it (None is skipped).
    """
    for url in urls:
        if url is None:
            continue
        for secret in _passwords(url):
            text = text.replace(secret, HIDDEN).replace(quote(secret, safe=""), HIDDEN)
    return text


def _passwords(url: str | URL) -> list[str]:
    """Every password-like value in ``url``; for an unparseable URL, what its text suggests too."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    found = [m.group(0).split("=", 1)[1] for m in _SECRET_PARAM.finditer(text)]
    try:
        parsed = url if isinstance(url, URL) else parse_url(url)
        found.append(parsed.password or "")
    except ValueError:
        pass
    found.append(_looks_like_password(text) or "")
    return [secret for secret in found if secret]


def _start(url: str) -> int:
    scheme_end = url.find("://")
    return scheme_end + 3 if scheme_end >= 0 else 0


def _userinfo(url: str) -> tuple[int, str] | None:
    """(start, text) of the ``user:password`` part of ``url``, or None when it has none.

    The query starts at the first ``?`` after the first ``/`` (or, with no ``/``, after the first ``@``),
    and the user info ends at the last ``@`` before the query: a password may hold ``@`` and ``?``
    but not ``/`` followed by ``?`` (that reading is ambiguous: percent-encode such a password);
    a query value may hold ``@``.
    """
    start = _start(url)
    if url.startswith("/", start):
        return None
    slash, first_at = url.find("/", start), url.find("@", start)
    anchor = slash if slash >= 0 else first_at if first_at >= 0 else start
    query = url.find("?", anchor)
    end = url.rfind("@", start, query if query >= 0 else len(url))
    return None if end < 0 else (start, url[start:end])


def _looks_like_password(url: str) -> str | None:
    """The widest reading of a password in ``url``: from the first ``:`` to the last ``@``, if both are there."""
    start = _start(url)
    colon, last_at = url.find(":", start), url.rfind("@", start)
    if url.startswith("/", start) or colon < 0 or last_at < colon or "/" in url[start:colon]:
        return None
    return url[colon + 1:last_at]


def _encode_at_signs(url: str) -> str:
    """Percent-encode the ``@`` signs make_url would misread: in the user info, and in the query."""
    found = _userinfo(url)
    if found is not None:
        start, userinfo = found
        url = url[:start] + userinfo.replace("@", "%40") + url[start + len(userinfo):]
    slash = url.find("/", _start(url))
    query = url.find("?", slash if slash >= 0 else url.find("@", _start(url)) + 1)
    return url if query < 0 else url[:query] + url[query:].replace("@", "%40")


def _mask_text(url: str) -> str:
    """Mask a URL by its text alone: everything from the first ``:`` to the last ``@``, and secret parameters."""
    url = _SECRET_PARAM.sub(rf"\1{HIDDEN}", url)
    secret = _looks_like_password(url)
    if secret:
        colon = url.find(":", _start(url))
        url = url[:colon + 1] + HIDDEN + url[colon + 1 + len(secret):]
    return url
