"""Does a pydantic model accept everything the contract promises?

``disagreements(model, contract_ref)`` walks ``model.model_json_schema()`` next to a
contract schema and lists every place where a body that satisfies the contract could
still fail to load into the model:

* a field the model requires that the contract does not promise (not ``required``);
* a type the contract allows that the model refuses (``null`` included);
* a model narrower than the contract: an enum, a pattern, a format, a length or a
  bound the contract does not impose, or ``extra="forbid"`` against an open object.

Fields the model leaves optional and the contract does not know are fine: the model
is free to read more than Central promises, as long as it copes without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract_schema import resolve
from pydantic import BaseModel

__all__ = ["disagreements", "flatten"]

JSON_TYPES = frozenset(
    {"string", "integer", "number", "boolean", "array", "object", "null"}
)
_NARROWING_KEYWORDS = (
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)


def disagreements(model: type[BaseModel], contract: str | dict[str, Any]) -> list[str]:
    """Every way a contract-conforming body can fail ``model``; empty means compatible.

    ``contract`` is a pointer such as ``#/components/schemas/Site`` or a schema that
    may itself point into the contract.
    """
    model_schema = model.model_json_schema(mode="validation", by_alias=True)
    walker = _Walker(model_schema)
    schema = {"$ref": contract} if isinstance(contract, str) else contract
    return list(walker.compare(model_schema, schema, model.__name__))


class _Walker:
    def __init__(self, model_root: dict[str, Any]) -> None:
        self._defs: dict[str, Any] = model_root.get("$defs", {})

    def _model(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self._defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def compare(
        self, model: dict[str, Any], contract: dict[str, Any], where: str
    ) -> Iterator[str]:
        model, contract = self._model(model), flatten(contract)
        if not model:  # typing.Any accepts everything
            return
        branches = model.get("anyOf") or model.get("oneOf")
        if branches:
            yield from self._compare_union(branches, contract, where)
            return

        refused = _types(contract) - _accepted(model, self)
        if refused:
            yield f"{where}: the contract allows {sorted(refused)}, the model does not"
        yield from _narrowing(model, contract, where)

        if "object" in _types(contract) and "object" in _declared_types(model):
            yield from self._compare_objects(model, contract, where)
        if "array" in _types(contract) and "array" in _declared_types(model):
            yield from self.compare(
                model.get("items", {}), contract.get("items", {}), f"{where}[]"
            )

    def _compare_union(
        self, branches: list[dict[str, Any]], contract: dict[str, Any], where: str
    ) -> Iterator[str]:
        # Each type the contract allows must be taken by some branch of the union.
        for json_type in sorted(_types(contract)):
            narrowed = {**contract, "type": json_type}
            takers = [
                b for b in branches if json_type in _accepted(self._model(b), self)
            ]
            if not takers:
                yield f"{where}: the contract allows {json_type!r}, the model does not"
                continue
            if json_type == "null":
                continue
            yield from self.compare(takers[0], narrowed, where)

    def _compare_objects(
        self, model: dict[str, Any], contract: dict[str, Any], where: str
    ) -> Iterator[str]:
        promised = set(contract.get("required", []))
        known = contract.get("properties", {})
        for name in model.get("required", []):
            if name not in promised:
                yield f"{where}.{name}: required by the model, not promised"
        for name, field in model.get("properties", {}).items():
            if name in known:
                yield from self.compare(field, known[name], f"{where}.{name}")
        if (
            model.get("additionalProperties") is False
            and contract.get("additionalProperties") is not False
        ):
            yield f"{where}: the model forbids fields the contract leaves open"


def flatten(contract: dict[str, Any]) -> dict[str, Any]:
    """A contract schema with references followed and ``allOf`` parts merged."""
    contract = resolve(contract)
    if "allOf" not in contract:
        return contract
    merged: dict[str, Any] = {k: v for k, v in contract.items() if k != "allOf"}
    for part in contract["allOf"]:
        part = flatten(part)
        merged.setdefault("type", part.get("type"))
        merged["required"] = [*merged.get("required", []), *part.get("required", [])]
        merged["properties"] = {
            **merged.get("properties", {}),
            **part.get("properties", {}),
        }
    return merged


def _declared_types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        if "enum" in schema or "const" in schema:
            values = schema.get("enum", [schema.get("const")])
            return {_json_type(v) for v in values}
        return set(JSON_TYPES)
    return {declared} if isinstance(declared, str) else set(declared)


def _types(contract: dict[str, Any]) -> set[str]:
    """The JSON types a contract schema allows (anyOf branches united)."""
    contract = flatten(contract)
    branches = contract.get("anyOf") or contract.get("oneOf")
    if branches:
        return set().union(*(_types(b) for b in branches))
    return _declared_types(contract)


def _accepted(model: dict[str, Any], walker: _Walker) -> set[str]:
    """The JSON types a model schema takes; pydantic's float also takes integers."""
    branches = model.get("anyOf") or model.get("oneOf")
    if branches:
        return set().union(*(_accepted(walker._model(b), walker) for b in branches))
    if not model:
        return set(JSON_TYPES)
    accepted = _declared_types(model)
    if "number" in accepted:
        accepted.add("integer")
    return accepted


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "string")


def _narrowing(
    model: dict[str, Any], contract: dict[str, Any], where: str
) -> Iterator[str]:
    model_values = model.get("enum", [model["const"]] if "const" in model else None)
    contract_values = contract.get(
        "enum", [contract["const"]] if "const" in contract else None
    )
    if model_values is not None:
        extra = (
            None
            if contract_values is None
            else set(contract_values) - set(model_values)
        )
        if contract_values is None or extra:
            allowed = (
                "any value"
                if contract_values is None
                else sorted(map(str, extra or ()))
            )
            yield f"{where}: the model takes only {model_values}; contract: {allowed}"
    for keyword in _NARROWING_KEYWORDS:
        if keyword in model and model[keyword] != contract.get(keyword):
            yield f"{where}: the model adds {keyword}={model[keyword]!r}"
    for low in ("minimum", "exclusiveMinimum"):
        if low in model and contract.get("minimum", float("-inf")) < model[low]:
            yield f"{where}: the model's {low} {model[low]} is above the contract's"
    for high in ("maximum", "exclusiveMaximum"):
        if high in model and contract.get("maximum", float("inf")) > model[high]:
            yield f"{where}: the model's {high} {model[high]} is below the contract's"
