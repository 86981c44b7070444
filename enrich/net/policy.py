"""Pure decisions of the network layer: status codes, back-off, Retry-After,
cache keys, freshness and secret redaction. No I/O here."""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from enrich.net.reply import OK, Kind, Reply, Verdict

SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token"})
SECRET_HEADERS = frozenset({"x-api-key", "authorization"})
DAY = 86400.0


def http_verdict(reply: Reply) -> Verdict:
    """The meaning of a status code when the source adds nothing of its own."""
    s = reply.status
    if 200 <= s < 300:
        return OK
    after = retry_after(reply.headers)
    if s == 404:
        return Verdict(Kind.NOT_FOUND, "not found")
    if s in (429, 503):
        return Verdict(Kind.PAUSE, f"HTTP {s}", after)
    if s in (408, 409) or s >= 500:
        return Verdict(Kind.RETRY, f"HTTP {s}", after)
    if s in (401, 403):
        return Verdict(Kind.OFF, f"HTTP {s} (access refused)")
    return Verdict(Kind.FAIL, f"HTTP {s}")


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds advised by retry-after-ms or retry-after (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    import time

    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential back-off with 'equal jitter': half fixed, half random."""
    full = min(cap, base * (2**attempt))
    return float(full / 2 + rand() * full / 2)


def join_url(base_url: str, path: str) -> str:
    """``path`` under ``base_url``, whose own query (say, a proxy's token) is kept."""
    if "://" in path:
        return path
    head, base_path, query = split_base(base_url)
    joined = base_path.rstrip("/") + "/" + path.lstrip("/")
    return f"{head}{joined}?{query}" if query else f"{head}{joined}"


@functools.lru_cache(maxsize=16)
def split_base(base_url: str) -> tuple[str, str, str]:
    """(scheme://netloc, path, query) of a base URL, as urlunsplit puts them back together."""
    base = urllib.parse.urlsplit(base_url)
    head = urllib.parse.urlunsplit((base.scheme, base.netloc, "", "", ""))
    return head, base.path, base.query


def url_secrets(url: str) -> list[str]:
    """What in a configured URL must stay secret: the password of its
    user:password@ (also as the Basic auth header carries it) and every value
    in its query (a proxy's token, a key)."""
    parts = urllib.parse.urlsplit(url)
    found = [v for _, v in urllib.parse.parse_qsl(parts.query) if len(v) >= 4]
    if parts.password:
        user, password = urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password)
        found += [password, parts.password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    return found


@functools.lru_cache(maxsize=64)
def secret_forms(secret: str) -> tuple[str, ...]:
    """The ways a secret can appear: as is, URL-quoted, form-quoted."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            for form in secret_forms(secret):
                if form in text:
                    text = text.replace(form, "***")
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """``data`` (a reply body) with every secret, plain or quoted, replaced."""
    for secret in secrets:
        if secret:
            for form in secret_forms(secret):
                data = data.replace(form.encode(), b"***")
    return data


def public_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The URL with its query sorted, every secret parameter and any
    user:password@ left out."""
    url = url.partition("#")[0]
    base, _, query = url.partition("?")
    pairs = tuple(urllib.parse.parse_qsl(query, keep_blank_values=True)) if query else ()
    if params:
        pairs += tuple((k, str(v)) for k, v in params.items())
    scheme, sep, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    base = f"{scheme}{sep}{host.lower()}{slash}{path}"
    encoded = public_query(pairs) if pairs else ""
    return f"{base}?{encoded}" if encoded else base


@functools.lru_cache(maxsize=256)
def public_query(pairs: tuple[tuple[str, str], ...]) -> str:
    """The sorted query without secret parameters, encoded. Remembered: most requests of a
    source share their parameters (a lookup's fmt and inc), and encoding them cost a quarter
    of a cached lookup."""
    kept = sorted(p for p in pairs if p[0].lower() not in SECRET_PARAMS)
    return urllib.parse.urlencode(kept) if kept else ""


def request_key(method: str, url: str, params: Mapping[str, Any] | None, body: Any) -> str:
    """The readable cache key: method, public URL and a hash of the body."""
    text = f"{method.upper()} {public_url(url, params)}"
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        text += " body:" + hashlib.sha256(raw).hexdigest()[:32]
    return text


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_fresh(fetched_at: float, negative: bool, now: float, ttl_days: float, negative_ttl_days: float) -> bool:
    ttl = negative_ttl_days if negative else ttl_days
    return now - fetched_at < ttl * DAY
