"""The five values a user pastes to connect one Central account.

``gateway_url`` and ``client_id`` come from the API Gateway page; the client
secret comes with the API client; the access/refresh pair comes from View Tokens.
The three secrets are ``SecretStr``: masked in every ``repr``, log line and error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    field_validator,
)

from connector._urls import gateway_host, normalise_gateway_url
from connector.errors import InvalidCredentials, InvalidGatewayURL

__all__ = ["Credentials", "pair_fingerprint"]

_SECRET_FIELDS = ("client_secret", "access_token", "refresh_token")
_SAVE_HINT = (
    "save the five values from Central's API Gateway page (gateway_url, client_id, "
    "client_secret, access_token, refresh_token) as one JSON object"
)


def pair_fingerprint(client_id: str, refresh_token: str) -> str:
    """A one-way fingerprint of a pasted refresh token, safe to store and compare.

    The token store remembers which pasted pair its chain descends from by this
    value, never by the token itself.
    """
    material = f"connector/pasted-pair\x00{client_id}\x00{refresh_token}"
    return hashlib.sha256(material.encode()).hexdigest()


class Credentials(BaseModel):
    """Gateway URL, client id, and the three secrets of one Central API client.

    Construction raises ``InvalidGatewayURL`` or ``InvalidCredentials`` (both
    ``ValueError``) naming the field and what to do; secret values never appear
    in a message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    FIELDS: ClassVar[tuple[str, ...]] = (
        "gateway_url",
        "client_id",
        "client_secret",
        "access_token",
        "refresh_token",
    )

    gateway_url: str
    client_id: str
    client_secret: SecretStr
    access_token: SecretStr
    refresh_token: SecretStr

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _translate(exc) from None

    @field_validator("gateway_url", mode="before")
    @classmethod
    def _check_gateway_url(cls, value: object) -> str:
        return normalise_gateway_url(value)

    @field_validator("client_id")
    @classmethod
    def _check_client_id(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("must be non-empty, without surrounding spaces")
        return value

    @field_validator("client_secret", "access_token", "refresh_token")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.strip() or secret != secret.strip():
            raise ValueError("must be non-empty, without surrounding spaces")
        return value

    @property
    def host(self) -> str:
        """The normalised gateway host (``apigw-prod2.central.arubanetworks.com``)."""
        return gateway_host(self.gateway_url)

    @property
    def pasted_fingerprint(self) -> str:
        """Fingerprint of this pasted pair (see :func:`pair_fingerprint`)."""
        return pair_fingerprint(self.client_id, self.refresh_token.get_secret_value())

    def secret_values(self) -> tuple[str, ...]:
        """The three secret values, for scrubbing text that came from outside."""
        return tuple(getattr(self, name).get_secret_value() for name in _SECRET_FIELDS)

    @classmethod
    def from_file(cls, path: str | Path) -> Credentials:
        """Read the JSON object with exactly the five keys from ``path``.

        A missing or unreadable file, malformed JSON, a missing or an extra key,
        or a value that is not text each raise ``InvalidCredentials`` naming the
        file and the key, never the value.
        """
        path = Path(path)
        document = _read_json_object(path)
        missing = [name for name in cls.FIELDS if name not in document]
        extra = sorted(name for name in document if name not in cls.FIELDS)
        if missing:
            raise InvalidCredentials(
                f"credentials file {str(path)!r} has no key {missing[0]!r}; "
                f"{_SAVE_HINT}"
            )
        if extra:
            raise InvalidCredentials(
                f"credentials file {str(path)!r} has an unexpected key "
                f"{_short(extra[0])!r}; {_SAVE_HINT}"
            )
        for name in cls.FIELDS:
            if not isinstance(document[name], str):
                raise InvalidCredentials(
                    f"credentials file {str(path)!r}: key {name!r} must be a string"
                )
        try:
            return cls(**document)
        except InvalidGatewayURL as exc:
            raise InvalidGatewayURL(
                exc.value, f"{exc.problem} (in {str(path)!r})"
            ) from None
        except InvalidCredentials as exc:
            raise InvalidCredentials(f"credentials file {str(path)!r}: {exc}") from None


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidCredentials(
            f"credentials file {str(path)!r} does not exist; {_SAVE_HINT} in that file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InvalidCredentials(
            f"credentials file {str(path)!r} cannot be read ({reason}); check the "
            "path and its permissions"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's error keeps the whole document; never chain it.
        raise InvalidCredentials(
            f"credentials file {str(path)!r} is not valid JSON (line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}); {_SAVE_HINT}"
        ) from None
    if not isinstance(document, dict):
        raise InvalidCredentials(
            f"credentials file {str(path)!r} must hold a JSON object; {_SAVE_HINT}"
        )
    return document


def _translate(exc: ValidationError) -> InvalidCredentials | InvalidGatewayURL:
    """The first problem of a pydantic error as a connector error, inputs hidden."""
    error = exc.errors(include_input=False, include_url=False)[0]
    original = error.get("ctx", {}).get("error")
    if isinstance(original, InvalidGatewayURL):
        return original
    field = ".".join(str(part) for part in error["loc"]) or "credentials"
    if error["type"] == "missing":
        return InvalidCredentials(
            f"credentials value {field!r} is missing; {_SAVE_HINT}"
        )
    if error["type"] == "extra_forbidden":
        return InvalidCredentials(
            f"unexpected credentials value {_short(field)!r}; {_SAVE_HINT}"
        )
    message = str(original) if original is not None else error["msg"]
    return InvalidCredentials(f"credentials value {field!r} {message}; {_SAVE_HINT}")


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:40] + "..."
