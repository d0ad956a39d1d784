"""``json.dumps(result.to_dict(), ensure_ascii=False)`` without building the dict: the JSON Lines row.

A Karamay result is about 10 kB of JSON, almost all of it the same for every unit of a
category: the labels, clauses, sections and points of some 30 targets.  Building the
dict and encoding it took ten times as long as assessing the unit (issue #12: the CLI's
JSON Lines ran at 2,000 units/s against 16,000 through ``evaluate_many``).

A :class:`LineTemplate` is made once per category from one real result: its
``to_dict()`` with every per-unit value replaced by a marker, encoded, then cut at the
markers.  A row is then the static pieces joined with the unit's values, each encoded
as ``json.dumps`` encodes it — the same bytes (tests compare them over generated units).
A result whose shape differs from the template's (it cannot, for one category of one
program, but the check is cheap) falls back to ``json.dumps(to_dict())``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.abi import (
    RAW_BAND,
    RAW_DEFERRED,
    RAW_EFFECTS,
    RAW_EXCEPTED,
    RAW_OUTCOME,
    RAW_RATING,
    RAW_SECTIONS,
    RAW_TARGETS,
    RAW_VETOES,
)
from .parts import plain

if TYPE_CHECKING:
    from .result import Result

_MARK = re.compile(r'"\\u0000(\d+)\\u0000"')
#: templates by (id of the program's module, category); holds the program so the id stays its own
_TEMPLATES: dict[tuple[int, str], tuple[object, LineTemplate]] = {}
_TEMPLATES_LIMIT = 64
#: the slots before the sections: unit, score, band, rating, rating_label, vetoed
_HEAD = 6
_CHUNKS_LIMIT = 512


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class LineTemplate:
    """The static pieces of a category's JSON line, and where each per-unit value goes."""

    def __init__(self, result: Result) -> None:
        doc: dict[str, Any] = result.to_dict()
        slots: list[str] = []

        def mark(slot: str) -> str:
            slots.append(slot)
            return f"\x00{len(slots) - 1}\x00"

        doc["unit"] = mark("unit")
        for key in ("score", "band", "rating", "rating_label", "vetoed"):
            doc[key] = mark(key)
        for section in doc["sections"].values():
            section["score"] = mark("section")
        points = []
        for target in doc["targets"]:
            points.append(Decimal(target["points"]))
            target["score"] = mark("target_score")
            target["lost"] = mark("target_lost")
        for key in ("vetoes", "excepted", "deferred", "consequences"):
            doc[key] = mark(key)
        parts = _MARK.split(_dumps(doc))
        self.pieces: tuple[str, ...] = tuple(parts[0::2])
        order = [int(i) for i in parts[1::2]]
        if order != list(range(len(slots))):  # pragma: no cover - a marker out of order: never the case
            raise ValueError("markers out of order")
        self.slots = tuple(slots)
        self.sections = len(doc["sections"])
        self.targets = len(doc["targets"])
        self.points = tuple(points)

        # per section and per target: the encoded value(s) with the static piece that follows,
        # by raw score (a score repeats across units: most targets keep their full points)
        self.heads: dict[tuple[int, int, bool], str] = {}
        self.consequences: dict[tuple[int, str], str] = {}
        self.section_chunks: tuple[dict[object, str], ...] = tuple({} for _ in range(self.sections))
        self.target_chunks: tuple[dict[object, str], ...] = tuple({} for _ in range(self.targets))

    def _section(self, i: int, score: object) -> str:
        chunks = self.section_chunks[i]
        key = score if score else str(score)  # see render
        chunk = chunks.get(key)
        if chunk is None:
            chunk = '"' + plain(Decimal(score)) + '"' + self.pieces[_HEAD + 1 + i]  # type: ignore[arg-type]
            if len(chunks) < _CHUNKS_LIMIT:
                chunks[key] = chunk
        return chunk

    def _target(self, i: int, score: object) -> str:
        chunks = self.target_chunks[i]
        key = score if score else str(score)
        chunk = chunks.get(key)
        if chunk is None:
            value = Decimal(score)  # type: ignore[arg-type]
            at = _HEAD + 1 + self.sections + 2 * i
            chunk = ('"' + plain(value) + '"' + self.pieces[at] + '"' + plain(self.points[i] - value) + '"'
                     + self.pieces[at + 1])
            if len(chunks) < _CHUNKS_LIMIT:
                chunks[key] = chunk
        return chunk

    def render(self, result: Result) -> str:
        raw = result.raw
        sections = raw[RAW_SECTIONS]
        targets = raw[RAW_TARGETS]
        if len(sections) != self.sections or len(targets) != self.targets:  # pragma: no cover - see module doc
            return _dumps(result.to_dict())
        if raw[RAW_EFFECTS] is not None:  # rating effects (issue #10 A3): vetoed and the extra keys, plainly
            return _dumps(result.to_dict())
        pieces = self.pieces
        # band, rating, label and vetoed follow from three small ints: one chunk per combination
        head_key = (raw[RAW_BAND], raw[RAW_RATING], bool(raw[RAW_VETOES]))
        head = self.heads.get(head_key)
        if head is None:
            head = "".join((pieces[2], _dumps(result.band), pieces[3], _dumps(result.rating), pieces[4],
                            _dumps(result.rating_label), pieces[5], "true" if result.vetoed else "false", pieces[6]))
            self.heads[head_key] = head
        out = [pieces[0], _dumps({"id": result.unit_id, "name": result.name, "category": result.category}),
               pieces[1], '"', plain(result.score), '"', head]
        # a chunk is keyed by the raw score itself (5 and 5.0 encode alike), except a zero,
        # keyed by its spelling: 0 and -0 are equal but plain() writes them apart
        section, chunks = self._section, self.section_chunks
        out.extend([chunks[i].get(s if s else str(s)) or section(i, s) for i, s in enumerate(sections)])
        target, chunks = self._target, self.target_chunks
        out.extend([chunks[i].get(s if s else str(s)) or target(i, s) for i, s in enumerate(targets)])
        at = _HEAD + 1 + self.sections + 2 * self.targets
        out += [_dumps([v.to_dict() for v in result.vetoes]) if raw[RAW_VETOES] else "[]", pieces[at],
                _dumps([v.to_dict() for v in result.excepted]) if raw[RAW_EXCEPTED] else "[]", pieces[at + 1],
                _dumps([d.to_dict() for d in result.deferred]) if raw[RAW_DEFERRED] else "[]", pieces[at + 2],
                self._consequences(result, raw), pieces[at + 3]]
        return "".join(out)

    def _consequences(self, result: Result, raw: tuple[Any, ...]) -> str:
        """The consequences, by rating and raw outcome — keyed by its repr, which keeps the
        spelling of each amount (1.0 and 1.00 are equal Decimals but encode apart)."""
        key = (raw[RAW_RATING], repr(raw[RAW_OUTCOME]))
        text = self.consequences.get(key)
        if text is None:
            text = _dumps(result.consequences.to_dict())
            if len(self.consequences) < _CHUNKS_LIMIT:
                self.consequences[key] = text
        return text


def json_line(result: Result) -> str:
    """``json.dumps(result.to_dict(), ensure_ascii=False)``, from the category's template."""
    program = result.program
    checked = program.checked
    if checked.general_outcomes or checked.reported:  # per-unit keys the template does not cut (issue #10)
        return _dumps(result.to_dict())
    if program.ledgers:  # issue #16: each unit's charged events, a per-unit key the template does not cut
        return _dumps(result.to_dict())
    key = (id(program.module), result.category)
    entry = _TEMPLATES.get(key)
    if entry is None or entry[0] is not program.module:
        if len(_TEMPLATES) >= _TEMPLATES_LIMIT:
            _TEMPLATES.clear()
        entry = (program.module, LineTemplate(result))
        _TEMPLATES[key] = entry
    return entry[1].render(result)
