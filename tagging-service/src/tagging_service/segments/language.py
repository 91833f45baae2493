"""The segment definition language (a contract: the console and other services build it).

```
C := {"and": [C, ...]} | {"or": [C, ...]} | {"not": C}
   | {"tag": <tag_id>}
   | {"attr": "follows_oa" | "has_phone" | "first_channel" | "member_since", "op": "eq" | "in" | "gte" | "lte",
      "value": ...}
   | {"fact": "registered" | "paid" | "checkins" | "in_group" | "quiz_answers" | "quiz_error_rate" | "active_days",
      "series_id"?: n, "period_id"?: n, "within_days"?: n, "op": "gte" | "gt" | "lte" | "lt" | "eq", "value": number}
   | {"segment": <segment_id>}
rank := {"fact": <as above, without op/value>, "order": "desc" | "asc"}
```

Each clause is recognised by its key and validated by its pydantic model;
every problem is reported with the path of the field (``definition.and.1.value``)
so the console can point at it. ``quiz_error_rate`` is a fraction (0.3 = 30 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.fields import Id, Text

FactName = Literal["registered", "paid", "checkins", "in_group", "quiz_answers", "quiz_error_rate", "active_days"]
AttrName = Literal["follows_oa", "has_phone", "first_channel", "member_since"]
Comparison = Literal["gte", "gt", "lte", "lt", "eq"]
MAX_DEPTH = 12
MAX_CLAUSES = 200
MAX_CHILDREN = 50
QUIZ_FACTS = frozenset({"quiz_answers", "quiz_error_rate"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactSelector(_Strict):
    """Which fact, scoped to a series or period and a recent window."""

    fact: FactName
    series_id: Id | None = None
    period_id: Id | None = None
    within_days: Annotated[int, Field(ge=1, le=3650)] | None = None

    @model_validator(mode="after")
    def _scope(self) -> FactSelector:
        if self.fact in QUIZ_FACTS and self.period_id is not None:
            raise ValueError("测验类事实按系列统计，请使用 series_id 而不是 period_id。")
        if self.fact == "active_days" and (self.series_id is not None or self.period_id is not None):
            raise ValueError("active_days 不区分系列或期。")
        return self

    def key(self) -> tuple[Any, ...]:
        """A hashable identity of the selected fact (cache key)."""
        return (self.fact, self.series_id, self.period_id, self.within_days)


class FactClause(FactSelector):
    """``{"fact": ..., "op": ..., "value": n}``."""

    op: Comparison
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0 or value > 1e12:
            raise ValueError("数值必须是 0 到 10^12 之间的有限数。")
        return value


class TagClause(_Strict):
    """``{"tag": id}``: members carrying the tag."""

    tag: Id


class SegmentClause(_Strict):
    """``{"segment": id}``: members of a saved segment."""

    segment: Id


class AttrClause(_Strict):
    """``{"attr": ..., "op": ..., "value": ...}``: a member attribute."""

    attr: AttrName
    op: Literal["eq", "in", "gte", "lte"]
    value: bool | Annotated[Text, Field(max_length=200)] | list[Annotated[Text, Field(max_length=200)]] | date

    @model_validator(mode="before")
    @classmethod
    def _typed_value(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        attr, op, value = data.get("attr"), data.get("op"), data.get("value")
        if attr in ("follows_oa", "has_phone"):
            if op != "eq":
                raise ValueError(f"{attr} 只支持 eq。")
            if not isinstance(value, bool):
                raise ValueError(f"{attr} 的值必须是 true 或 false。")
        elif attr == "first_channel":
            if op == "eq" and not isinstance(value, str):
                raise ValueError("first_channel eq 的值必须是字符串。")
            if op == "in" and not (isinstance(value, list) and 0 < len(value) <= 100
                                   and all(isinstance(v, str) for v in value)):
                raise ValueError("first_channel in 的值必须是 1 到 100 个字符串。")
            if op not in ("eq", "in"):
                raise ValueError("first_channel 只支持 eq 或 in。")
        elif attr == "member_since":
            if op not in ("eq", "gte", "lte"):
                raise ValueError("member_since 只支持 eq、gte 或 lte。")
            try:
                parsed = date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                parsed = None
            if parsed is None:
                raise ValueError("member_since 的值必须是日期（YYYY-MM-DD）。")
            return {**data, "value": parsed}
        return data


class Rank(FactSelector):
    """Order members by a fact's value."""

    order: Literal["desc", "asc"] = "desc"


@dataclass(frozen=True)
class Logical:
    """``and`` / ``or`` over children, or ``not`` of one child."""

    op: Literal["and", "or", "not"]
    children: tuple[Node, ...]
    path: str


@dataclass(frozen=True)
class Leaf:
    """A tag, attribute, fact or segment clause."""

    clause: TagClause | AttrClause | FactClause | SegmentClause
    path: str


Node = Logical | Leaf

_LEAVES: dict[str, type[BaseModel]] = {
    "tag": TagClause, "attr": AttrClause, "fact": FactClause, "segment": SegmentClause,
}


class DefinitionError(Exception):
    """Field-level problems of a definition: ``[{"field", "message", "code"}]``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _problem(path: str, message: str, code: str) -> dict[str, str]:
    return {"field": path, "message": message, "code": code}


def _pydantic_errors(exc: ValidationError, path: str) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        message = str(err.get("msg", ""))
        message = message.removeprefix("Value error, ")
        out.append(_problem(f"{path}.{loc}" if loc else path, message, str(err.get("type", "invalid"))))
    return out


class _Parser:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.clauses = 0

    def node(self, value: Any, path: str, depth: int) -> Node | None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            if self.clauses == MAX_CLAUSES + 1:
                self.errors.append(_problem(path, f"条件过多（最多 {MAX_CLAUSES} 个）。", "too_many_clauses"))
            return None
        if depth > MAX_DEPTH:
            self.errors.append(_problem(path, f"嵌套过深（最多 {MAX_DEPTH} 层）。", "too_deep"))
            return None
        if not isinstance(value, dict):
            self.errors.append(_problem(path, "条件必须是 JSON 对象。", "not_an_object"))
            return None
        keys = [k for k in ("and", "or", "not", *_LEAVES) if k in value]
        if len(keys) != 1:
            self.errors.append(_problem(
                path, "条件必须恰好包含 and、or、not、tag、attr、fact、segment 之一。", "unknown_clause"
            ))
            return None
        key = keys[0]
        if key in ("and", "or"):
            extra = set(value) - {key}
            children = value[key]
            if extra:
                self.errors.append(_problem(f"{path}.{sorted(extra)[0]}", "不认识的字段。", "extra_forbidden"))
            if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
                self.errors.append(_problem(f"{path}.{key}", f"{key} 需要 1 到 {MAX_CHILDREN} 个条件的列表。",
                                            "invalid_list"))
                return None
            parsed = [self.node(child, f"{path}.{key}.{i}", depth + 1) for i, child in enumerate(children)]
            if any(p is None for p in parsed):
                return None
            op = cast(Literal["and", "or"], key)  # checked just above; mypy does not narrow str by `in`
            return Logical(op=op, children=tuple(p for p in parsed if p is not None), path=path)
        if key == "not":
            if set(value) - {"not"}:
                self.errors.append(_problem(path, "not 只能包含一个条件。", "extra_forbidden"))
                return None
            child = self.node(value["not"], f"{path}.not", depth + 1)
            return None if child is None else Logical(op="not", children=(child,), path=path)
        try:
            clause = _LEAVES[key].model_validate(value)
        except ValidationError as exc:
            self.errors.extend(_pydantic_errors(exc, path))
            return None
        return Leaf(clause=clause, path=path)  # type: ignore[arg-type]


def parse_definition(value: Any, path: str = "definition") -> Node:
    """Parse and validate a definition, or raise :class:`DefinitionError` naming every bad field."""
    parser = _Parser()
    node = parser.node(value, path, 1)
    if parser.errors or node is None:
        raise DefinitionError(parser.errors or [_problem(path, "条件无效。", "invalid")])
    return node


def parse_rank(value: Any, path: str = "rank") -> Rank | None:
    """Parse an optional rank specification."""
    if value is None:
        return None
    try:
        return Rank.model_validate(value)
    except ValidationError as exc:
        raise DefinitionError(_pydantic_errors(exc, path)) from None


def leaves(node: Node) -> list[Leaf]:
    """Every leaf clause of a tree."""
    if isinstance(node, Leaf):
        return [node]
    return [leaf for child in node.children for leaf in leaves(child)]


def to_datetime(day: date) -> datetime:
    """Midnight of a date (naive; the caller applies the zone)."""
    return datetime(day.year, day.month, day.day)
