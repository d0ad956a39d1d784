"""Frames and symbols: who owns which generated local name, in which scope.

Why: the evaluator and the fused fact reader used to agree on local names by
convention (the reader wrote ``F0``, ``v0``, ``w0`` and the compiler's spliced
text read them).  Now one :class:`Symbols` per generated function hands out
every local name — facts ``F#``, lets ``L#``, targets ``T#``, record fields
``v#``, derived fields ``w#``, outcome items ``O#``, temporaries — and every
generator that writes into the function declares and resolves names through it.

A :class:`Frame` is what a visit needs to know about where it emits: the
symbols, whether the function records a trace, and the loop depth (the item of
an aggregate nested in ``n`` others is ``_it{n}``).  :meth:`Frame.inner` opens a
nested scope (a record's derived fields, an outcome's items, an aggregate's
body) whose names fall back to the enclosing ones; nothing is modal on the
generators themselves.
"""

from __future__ import annotations

import attrs


class Symbols:
    """The local names of one scope of a generated function (with the enclosing scope's as fallback)."""

    def __init__(self, parent: Symbols | None = None) -> None:
        self.parent = parent
        self._names: dict[str, str] = {}
        # counters and once-only locals are per function: an inner scope shares its root's
        self._root: Symbols = parent._root if parent is not None else self
        self._counters: dict[str, int] = {}
        self._once: set[str] = set()

    # ----------------------------------------------------------- declaring
    def declare(self, name: str, local: str) -> str:
        """Bind policy name ``name`` to the generated local ``local`` in this scope."""
        self._names[name] = local
        return local

    def fact(self, name: str) -> str:
        """A fact's local: ``F0``, ``F1``, ... in the order facts are declared."""
        return self.declare(name, f"F{self._root.count('F')}")

    def let(self, name: str) -> str:
        """A let's local, numbered after every name bound so far (unique in the function)."""
        return self.declare(name, f"L{len(self._root._names)}")

    def temp(self, prefix: str) -> str:
        """A fresh temporary ``{prefix}{n}`` (``_n1``, ``_a2``), unique in the function."""
        return f"{prefix}{self._root.count('_temp') + 1}"

    def count(self, kind: str) -> int:
        """The next number of ``kind`` in this function (0, 1, ...)."""
        root = self._root
        n = root._counters.get(kind, 0)
        root._counters[kind] = n + 1
        return n

    def first(self, local: str) -> bool:
        """True the first time a once-per-function local (such as ``_fl``) is asked for."""
        root = self._root
        if local in root._once:
            return False
        root._once.add(local)
        return True

    # ----------------------------------------------------------- resolving
    def get(self, name: str) -> str | None:
        scope: Symbols | None = self
        while scope is not None:
            local = scope._names.get(name)
            if local is not None:
                return local
            scope = scope.parent
        return None

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __getitem__(self, name: str) -> str:
        local = self.get(name)
        if local is None:  # pragma: no cover - the checker resolved every name and plans list every read
            raise KeyError(name)
        return local


@attrs.frozen
class Frame:
    """Where a visit emits: the function's symbols, trace or not, scope kind and loop depth."""

    symbols: Symbols
    traced: bool = False
    kind: str = "function"  # function | record (fields are locals v#/w#) | record_dict (``r[...]``) | outcome
    depth: int = 0  # loop variables bound around this scope: an aggregate here iterates with _it{depth}

    def inner(self, kind: str | None = None, loop: bool = False) -> Frame:
        """A nested scope: own names over the enclosing ones; one loop deeper if ``loop``."""
        return Frame(Symbols(self.symbols), self.traced, kind or self.kind, self.depth + (1 if loop else 0))

    @property
    def in_record(self) -> bool:
        return self.kind in ("record", "record_dict")


#: The symbol of the unit's score, ``score`` (never a policy name: it starts with a space).
SCORE_KEY = " score"


def score_key(kind: str, path: tuple[str, ...]) -> str:
    """The symbol of ``score(X)``: a target's (``kind`` "target") or a section's score local."""
    return f" score({kind}:{'.'.join(path)})"

#: a cohort policy's evaluators take the unit's standing as ``C`` (issue #11 C); without one they
#: read ``_NS`` (the runtime's no-standing marker: rank unset, counts 0, no quota)
COHORT_PARAMETER = "C=_NS"
#: the cohort values as the attributes of the standing ``C`` they read
COHORT_ATTRIBUTES = {"rank": "C.rank", "ranked_count": "C.ranked_count", "unit_count": "C.unit_count",
                     "best": "C.best", "average": "C.average"}
