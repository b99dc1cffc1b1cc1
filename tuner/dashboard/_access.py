"""Who may ask the dashboard, and which paths a request may name.

Two rules keep the server from handing out more than the experiments under its root:

* A token, when set, is needed by every request: as ``?token=T`` (then kept in an HttpOnly
  cookie), the ``tuner_token`` cookie, or ``Authorization: Bearer T``. A server bound to any
  address other than the loopback one always has a token (`token_for` makes one up). Without a
  token, requests must name a loopback host in their ``Host`` header, so that a web page
  elsewhere cannot reach the server through a DNS name it points at 127.0.0.1.
* A path in a URL names nothing by itself: an experiment id is looked up among the
  experiments found under the root, a trial id among that experiment's trials. `check_segment`
  refuses, before any lookup, what could only be an attempt to leave the root (``..``, an
  absolute path, a backslash, a NUL), and `inside` tells whether a local path, symbolic links
  resolved, is still under the root (a trial directory that is a link to elsewhere is not read).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from email.message import Message
from http.cookies import CookieError, SimpleCookie

from tuner.exceptions import ConfigError

COOKIE = "tuner_token"
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "127.0.0.1", "::1"})


class OutsideRoot(ValueError):
    """A path in a request that points outside the storage root."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine's loopback interface."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_for(host: str, token: str | None) -> tuple[str | None, bool]:
    """The token a server bound to `host` uses, and whether it was made up here.

    Raises:
        ConfigError: `token` is given but empty, or holds characters other than letters,
            digits and ``-._~`` (it travels in URLs and a cookie as it is).
    """
    if token is not None:
        if not _TOKEN_CHARS.fullmatch(token):
            raise ConfigError(
                f"the dashboard token must be letters, digits and -._~ only (it goes into URLs "
                f"and a cookie), got {token!r}: pass e.g. --token {secrets.token_urlsafe(18)}"
            )
        return token, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(18), True


def request_token(query: Mapping[str, list[str]], headers: Mapping[str, str] | Message
                  ) -> tuple[str | None, bool]:
    """The token a request carries, and whether it came in the URL (then the server sets the
    cookie). Query first, then the Authorization header, then the cookie."""
    if query.get("token"):
        return query["token"][-1], True
    authorization = headers.get("Authorization") or ""
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip(), False
    cookie_header = headers.get("Cookie")
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return None, False
        if COOKIE in jar:
            return jar[COOKIE].value, False
    return None, False


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the time taken tells nothing about the token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def host_allowed(host_header: str | None) -> bool:
    """Whether a tokenless server answers a request with this ``Host`` header (loopback only)."""
    if not host_header:
        return False
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8000
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host)


def check_segment(value: str, what: str) -> str:
    """`value` (one decoded URL segment naming an experiment or trial) if it can name something
    under the root.

    Raises:
        OutsideRoot: An absolute path, a ``..`` part, a backslash or a NUL byte.
    """
    if value == ".":
        return value
    parts = value.split("/")
    if (
        not value
        or value.startswith("/")
        or "\\" in value
        or "\x00" in value
        or any(part in ("", ".", "..") for part in parts)
        or (len(value) > 1 and value[1] == ":")  # C:...
    ):
        raise OutsideRoot(
            f"{what} {value!r} is not a path inside the storage root: ids are the paths the "
            "dashboard lists, relative to its root, without '..' or a leading '/'"
        )
    return value


def inside(root_real: str, path: str) -> bool:
    """Whether the local `path`, links resolved, is `root_real` (a realpath) or below it."""
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)
