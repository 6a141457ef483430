"""Secrets out of cassettes: scrubbing at record time and a leak detector for CI.

Every secret value the recorder sees is replaced by a stable placeholder such as
``scrubbed-refresh-token-2``: numbered per kind in the order first seen, so a cassette
still tells the rotation story (token 1 is refreshed into token 2, and the next call
carries token 2) and re-recording the same scenario gives the same file. A secret is
recognised by where it sits (the ``Authorization`` header, a query, form or JSON
field with a sensitive name) and, once learnt, wherever else it appears.

The detector reads finished cassettes without knowing any secret: it flags sensitive
fields whose values are not placeholders and any string that looks like an opaque
credential.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

PLACEHOLDER_PREFIX = "scrubbed-"

# Query, form and JSON names whose values are secret (or name the account), and the
# placeholder kind each gets. One list for the scrubber and the detector.
SECRET_FIELDS: Mapping[str, str] = {
    "client_id": "client-id",
    "client_secret": "client-secret",
    "access_token": "access-token",
    "refresh_token": "refresh-token",
    "code": "auth-code",
    "auth_code": "auth-code",
    "password": "password",
    "customer_id": "customer-id",
}
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie"})

_AUTH_SCHEME = re.compile(r"^(?P<scheme>\w+)\s+(?P<credential>\S+)$")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")
_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX) + r"[a-z]+(?:-[a-z]+)*-[0-9]+")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}")


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX)


class Scrubber:
    """Learns secrets and replaces them by placeholders in vcrpy requests and responses.

    One instance per cassette: the numbering restarts with each recording.
    """

    def __init__(self) -> None:
        self._placeholders: dict[str, str] = {}
        self._counts: Counter[str] = Counter()

    def __deepcopy__(self, memo: dict[int, Any]) -> Scrubber:
        # pytest-recording deep-copies the vcr configuration, hooks included; a copy
        # would learn secrets the test's own table never sees. One table per cassette.
        return self

    def learn(self, kind: str, value: str) -> str:
        """The placeholder for ``value``, allocating the next one of ``kind``."""
        if not value or is_placeholder(value):
            return value
        if value not in self._placeholders:
            self._counts[kind] += 1
            self._placeholders[value] = (
                f"{PLACEHOLDER_PREFIX}{kind}-{self._counts[kind]}"
            )
        return self._placeholders[value]

    def replace_known(self, text: str) -> str:
        """``text`` with every learnt secret replaced, longest first."""
        for secret in sorted(self._placeholders, key=len, reverse=True):
            text = text.replace(secret, self._placeholders[secret])
        return text

    def count_leaks(self, text: str) -> int:
        """How many learnt secret values ``text`` still holds (never which)."""
        return sum(1 for secret in self._placeholders if secret in text)

    # vcrpy hooks -------------------------------------------------------------------

    def before_record_request(self, request: Any) -> Any:
        """Scrub a vcrpy ``Request`` (already a deep copy) in place and return it."""
        for name in list(request.headers):
            if name.lower() in SECRET_HEADERS:
                request.headers[name] = self._scrub_credential(request.headers[name])
        request.uri = self._scrub_uri(request.uri)
        request.body = self._scrub_body(request.body)
        return request

    def before_record_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Scrub a vcrpy response dict (headers and body) and return it."""
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in DROPPED_RESPONSE_HEADERS:
                del headers[name]
            else:
                headers[name] = [self.replace_known(str(v)) for v in headers[name]]
        body = response.get("body", {})
        raw = body.get("string")
        if raw:
            body["string"] = self._scrub_bytes(
                raw if isinstance(raw, bytes) else raw.encode()
            )
            for name in headers:
                if name.lower() == "content-length":  # placeholders change the size
                    headers[name] = [str(len(body["string"]))]
        return response

    # pieces ------------------------------------------------------------------------

    def _scrub_credential(self, value: str) -> str:
        match = _AUTH_SCHEME.match(value.strip())
        if match is None:
            return self.learn("credential", value)
        scheme = match["scheme"]
        kind = "access-token" if scheme.lower() == "bearer" else "credential"
        return f"{scheme} {self.learn(kind, match['credential'])}"

    def _scrub_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            (name, self.learn(SECRET_FIELDS[name], value))
            if name in SECRET_FIELDS
            else (name, self.replace_known(value))
            for name, value in pairs
        ]

    def _scrub_uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        if not parts.query:
            return uri
        pairs = self._scrub_pairs(parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit(parts._replace(query=urlencode(pairs)))

    def _scrub_json(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: self.learn(SECRET_FIELDS[key], value)
                if key in SECRET_FIELDS and isinstance(value, str)
                else self._scrub_json(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [self._scrub_json(item) for item in node]
        if isinstance(node, str):
            return self.replace_known(node)
        return node

    def _scrub_body(self, body: Any) -> Any:
        if body is None:
            return None
        if isinstance(body, Mapping):  # aiohttp json= or data= dicts are kept as-is
            return self._scrub_json(dict(body))
        if isinstance(body, bytes | str):
            return self._scrub_bytes(body if isinstance(body, bytes) else body.encode())
        return body

    def _scrub_bytes(self, raw: bytes) -> bytes:
        text = raw.decode("utf-8", errors="replace")
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict | list):
            return json.dumps(self._scrub_json(document)).encode()
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs and any(name in SECRET_FIELDS for name, _ in pairs):
            return urlencode(self._scrub_pairs(pairs)).encode()
        return self.replace_known(text).encode()


def _query_without_secrets(uri: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(urlsplit(uri).query, keep_blank_values=True)
    return sorted((name, value) for name, value in pairs if name not in SECRET_FIELDS)


def query_without_secrets(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the query strings agree once secret parameters are left out.

    A recorded request holds placeholders where the replayed one may hold anything,
    so secrets must not take part in matching; every other parameter must.
    """
    first, second = _query_without_secrets(r1.uri), _query_without_secrets(r2.uri)
    if first != second:
        raise AssertionError(f"{first} != {second}")


# The detector ----------------------------------------------------------------------


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _class_switches(text: str) -> int:
    """How often the character class flips inside words (``aB``, ``a1``, ``1a``)."""

    def kind(c: str) -> str:
        return "digit" if c.isdigit() else "upper" if c.isupper() else "lower"

    pairs = itertools.pairwise(text)
    return sum(
        1
        for a, b in pairs
        if a.isalnum() and b.isalnum() and kind(a) != kind(b) and kind(b) != "lower"
    )


def looks_like_a_credential(text: str) -> bool:
    """An opaque, random-looking run of 20+ characters (tokens, secrets, keys).

    Random tokens mix digits and both cases and switch between them mid-word;
    names such as ``Site-0001-Springfield`` switch only at separators.
    """
    if is_placeholder(text):
        return False
    if re.fullmatch(r"[0-9a-fA-F]{32,}", text):
        return True
    classes = [any(c.isdigit() for c in text), any(c.islower() for c in text)]
    classes.append(any(c.isupper() for c in text))
    return all(classes) and _class_switches(text) >= 6 and _entropy(text) >= 4.0


def _strings(node: Any) -> Iterator[tuple[str | None, str]]:
    """Every (key, string value) pair in a nested structure; key None for list items."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                yield None, item
            else:
                yield from _strings(item)


def _body_fields(body: Any) -> Iterator[tuple[str | None, str]]:
    if isinstance(body, dict) and "string" in body:
        body = body["string"]
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, dict | list):
        yield from _strings(body)
        return
    if not isinstance(body, str) or not body:
        return
    try:
        yield from _strings(json.loads(body))
        return
    except ValueError:
        pass
    yield from parse_qsl(body, keep_blank_values=True)


def find_leaks(cassette_text: str) -> list[str]:
    """Human-readable findings for every credential-looking string in a cassette."""
    findings: list[str] = []
    data = yaml.safe_load(cassette_text) or {}
    for index, interaction in enumerate(data.get("interactions", [])):
        request, response = interaction["request"], interaction["response"]
        where = f"interaction {index} ({request.get('method')} {request.get('uri')})"
        fields = [
            *parse_qsl(urlsplit(request.get("uri", "")).query, keep_blank_values=True),
            *_body_fields(request.get("body")),
            *_body_fields(response.get("body")),
        ]
        for name, value in fields:
            if name in SECRET_FIELDS and value and not is_placeholder(value):
                findings.append(f"{where}: field {name!r} holds a real value")
        for name, values in (request.get("headers") or {}).items():
            for value in values if isinstance(values, list) else [values]:
                if name.lower() in SECRET_HEADERS and not _is_scrubbed_credential(
                    value
                ):
                    findings.append(f"{where}: request header {name!r} is not scrubbed")
        for name in response.get("headers") or {}:
            if name.lower() in DROPPED_RESPONSE_HEADERS:
                findings.append(f"{where}: response header {name!r} was kept")
    findings.extend(_textual_leaks(cassette_text))
    return findings


def _is_scrubbed_credential(value: str) -> bool:
    match = _AUTH_SCHEME.match(value.strip())
    credential = match["credential"] if match else value
    return is_placeholder(credential)


def _textual_leaks(text: str) -> list[str]:
    text = _PLACEHOLDER.sub(" ", text)
    findings = [
        f"private key material at offset {m.start()}" for m in _PEM.finditer(text)
    ]
    findings += [f"JWT-like token at offset {m.start()}" for m in _JWT.finditer(text)]
    findings += [
        f"credential-looking string {m.group()[:4]}... at offset {m.start()}"
        for m in _TOKEN_RUN.finditer(text)
        if looks_like_a_credential(m.group())
    ]
    return findings


def leaks_in(path: Path) -> list[str]:
    return find_leaks(path.read_text(encoding="utf-8"))
