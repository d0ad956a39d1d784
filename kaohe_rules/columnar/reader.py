"""The vectorised fact reader: a typed input table → canonical fact columns (:mod:`.canonical`), in one query.

Why a second reader: the per-unit reader costs microseconds per unit, more than the compiled columnar
program itself.  This one reads a whole record batch as one polars query (every fact a few expressions,
lists of records through ``list.eval``, run fused and in parallel), and is allowed to be *incomplete* but
never *different*: a row it cannot certify — a value it does not read natively, a cell the per-unit
reader would refuse, anything doubtful — is marked not ``clean`` and goes per unit, which gives that
row's exact result or its exact error.  So every rule here is "this row is certainly read as the per-unit
reader reads it", never a second reading of the clerk's input.

What is read natively:

* ``id`` (text, or a whole number: the per-unit reader turns it into its digits), ``name`` (text),
  ``category`` (a category's name or label);
* ``bool`` from Boolean columns; ``int`` from integer or Decimal columns (whole numbers);
  ``decimal``/``money``/``percent`` from integer or Decimal columns (at most FACT_SCALE places after the
  point; a bare percent ``x`` with ``0 < |x| <= 1`` is not clean: the per-unit reader refuses it as
  ambiguous); ``enum`` from text (a member's name or label, exactly as written); ``text`` from text;
  ``date`` from Date columns; a list of records from a list-of-struct column, field by field by the
  same rules;
* every other scalar column (text in a numeric column such as ``"98%"``, ``"是"``, ``"120万元"``, a float
  column, a date written as text …) through the per-unit conversions themselves
  (:data:`kaohe_rules.runtime.coerce.convert.CONVERTERS`), once per *distinct* value: the same function
  decides, so the same value comes out or the row is not clean.

Defaults, ``optional`` (none), bounds (``fact_bounds``/``field_bounds``), the category's own facts (a fact
of another category, or an unknown column, given in a row makes that row not clean: the per-unit reader
refuses it), missing facts, the number limits (:mod:`kaohe_rules.limits`) are checked here as the
per-unit reader checks them.  Record ``let`` fields are computed by :mod:`.recordlets` where it compiles
them exactly (else a row holding such records is not clean).  Not read here (those rows or policies go
per unit): ``per period`` facts, record-valued facts, lists of scalars, non-empty list defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from ..language.model import MISSING, CheckedPolicy
from ..language.types import Type
from ..limits import MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, NUMBER_LIMIT
from ..runtime.coerce.convert import CONVERTERS, Bad
from .layout import DECIMAL_KINDS, FACT_SCALE, Canonical, canonical_dtype, canonical_schema
from .recordlets import Unsupported, let_columns

if TYPE_CHECKING:
    import polars as pl

Bounds = tuple[object, object, bool, bool] | None
#: the envelope columns read in the first stage, named so no input column can shadow them
_ID, _NAME, _CATEGORY = "\x00id", "\x00name", "\x00category"


def read_table(checked: CheckedPolicy, frame: pl.DataFrame) -> Canonical:
    """The canonical frame of ``frame``'s rows and which rows are certified clean (see the module doc)."""
    import polars as pl

    schema = canonical_schema(checked)
    height = frame.height
    if schema is None or checked.period_facts:
        # a fact without a canonical column, or facts per period: every row goes per unit
        empty = schema or {"__id": pl.String(), "__name": pl.String(), "__category": pl.String()}
        nulls = pl.DataFrame({name: pl.Series(name, [None] * height, dtype=dtype) for name, dtype in empty.items()})
        return Canonical(nulls, pl.Series("clean", [False] * height, dtype=pl.Boolean))
    return _Query(checked, frame).run(schema)


def _lit(value: object, dtype: pl.DataType) -> pl.Expr:
    import polars as pl

    return pl.lit(value, dtype=dtype)


class _Query:
    """One batch's query: an expression per canonical column and one for the rows it certifies."""

    def __init__(self, checked: CheckedPolicy, frame: pl.DataFrame) -> None:
        self.checked = checked
        self.frame = frame
        self.schema = frame.schema
        self.prepared: dict[str, pl.Series] = {}  # columns read before the query (lists of records)

    def run(self, schema: dict[str, pl.DataType]) -> Canonical:
        import polars as pl

        checked = self.checked
        envelope, envelope_ok = self._envelope()
        oks: list[pl.Expr] = [envelope_ok]
        known = set(schema) - {"__id", "__name", "__category"}
        for name in self.frame.columns:
            if name not in ("id", "name", "category") and name not in known:
                oks.append(pl.col(name).is_null())  # an unknown fact, given: the per-unit reader refuses it
        values: list[pl.Expr] = [pl.col(_ID).alias("__id"), pl.col(_NAME).alias("__name"),
                                 pl.col(_CATEGORY).alias("__category")]
        staged: list[pl.Expr] = []  # each fact's value and verdict computed once, then combined
        for name, type_ in checked.fact_types.items():
            cats = [c for c, plan in checked.plans.items() if name in plan.facts]
            allowed = pl.col(_CATEGORY).is_in(cats) if cats else pl.lit(False)
            present = name in self.schema and self.schema[name] != pl.Null
            if present:
                oks.append(pl.col(name).is_null() | allowed)  # a fact of another category, given
            value, fine = self._fact(name, type_, present)
            staged += [value.alias(f"\x00v{name}"), fine.alias(f"\x00f{name}")]
            oks.append(~allowed | pl.col(f"\x00f{name}"))
            # only the category's facts are in a result's facts: the others are null
            values.append(pl.when(allowed).then(pl.col(f"\x00v{name}")).otherwise(None).cast(schema[name])
                          .alias(name))
        clean = pl.all_horizontal(oks).fill_null(False).alias("\x00clean")
        prepared = [series.alias(name) for name, series in self.prepared.items()]
        out = (self.frame.lazy().with_columns(prepared).with_columns(envelope).with_columns(staged)
               .select([*values, clean]).collect())
        return Canonical(out.drop("\x00clean"), out.get_column("\x00clean").alias("clean"))

    # ------------------------------------------------------------------ envelope
    def _envelope(self) -> tuple[list[pl.Expr], pl.Expr]:
        import polars as pl

        ok: list[pl.Expr] = []
        source = self.schema.get("id")
        if source is not None and (source == pl.Categorical or isinstance(source, pl.Enum)):
            source = pl.String()
        if source is not None and source.is_integer():
            ident = pl.col("id").cast(pl.String)
            ok.append(_within_limit(pl.col("id").cast(pl.Int128), 0))
        elif source == pl.String():
            ident = pl.col("id").cast(pl.String)
        else:
            ident = pl.lit(None, dtype=pl.String)
            ok.append(pl.lit(False))
        # not blank (Python's str.strip also strips \x1c-\x1f, which Unicode does not call white space)
        ok.append(ident.str.contains(r"[^\s\x1c-\x1f]") & (ident.str.len_chars() <= MAX_ID_CHARS))
        source = self.schema.get("name")
        if source is not None and (source == pl.Categorical or isinstance(source, pl.Enum)):
            source = pl.String()
        if source is None or source == pl.Null:
            name = pl.lit(None, dtype=pl.String)
        elif source == pl.String():
            name = pl.col("name").cast(pl.String)
            ok.append((name.str.len_chars() <= MAX_TEXT_CHARS).fill_null(True))
        else:
            name = pl.lit(None, dtype=pl.String)
            ok.append(pl.col("name").is_null())
        source = self.schema.get("category")
        if source is not None and (source == pl.Categorical or isinstance(source, pl.Enum)):
            source = pl.String()
        if source == pl.String():
            spellings = {info.label: key for key, info in self.checked.categories.items()
                         if info.label and info.label not in self.checked.plans}
            spellings.update({key: key for key in self.checked.plans})
            category = pl.col("category").cast(pl.String).replace_strict(spellings, default=None,
                                                                          return_dtype=pl.String)
        else:
            category = pl.lit(None, dtype=pl.String)
        ok.append(pl.col(_CATEGORY).is_not_null())
        envelope = [ident.alias(_ID), name.alias(_NAME), category.alias(_CATEGORY)]
        return envelope, pl.all_horizontal(ok).fill_null(False)

    # --------------------------------------------------------------------- facts
    def _fact(self, name: str, type_: Type, present: bool) -> tuple[pl.Expr, pl.Expr]:
        import polars as pl

        checked = self.checked
        if not present:
            source: pl.DataType = pl.Null()
            series = None
        else:
            source = self.schema[name]
            series = self.frame.get_column(name)
        raw = pl.col(name)
        if type_.kind == "list":
            value, given, good = self._list(type_, raw, source, series)
        else:
            value, given, good = _scalar(checked, type_, raw, source, series, checked.fact_bounds.get(name))
        return _with_default(checked, value, given, good, type_, checked.fact_defaults.get(name))

    def _list(self, type_: Type, raw: pl.Expr, source: pl.DataType,
              series: pl.Series | None) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        """A list-of-records fact: (canonical lists, given, good), every item's fields read as facts are.

        The items are read flat (all items of the batch as one column: vectorised, not list by list),
        then put back into lists by the input's own offsets (Arrow), before the main query runs.
        """
        import polars as pl

        checked = self.checked
        dtype = canonical_dtype(checked, type_)
        assert dtype is not None and type_.elem is not None
        if isinstance(source, pl.Null) or source == pl.Null:
            return _lit(None, dtype), pl.lit(False), pl.lit(False)
        given = raw.is_not_null()
        if not (isinstance(source, pl.List) and isinstance(source.inner, pl.Struct)) or series is None:
            return _lit(None, dtype), given, pl.lit(False)
        lists, good = _read_lists(checked, type_.elem.name or "", series, dtype)
        name = series.name
        self.prepared[f"\x00L{name}"] = lists
        self.prepared[f"\x00G{name}"] = good
        return pl.col(f"\x00L{name}"), given, pl.col(f"\x00G{name}")


def _read_lists(checked: CheckedPolicy, rname: str, series: pl.Series,
                dtype: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """A list-of-struct column's canonical lists of records, and per row whether every item is certified."""
    import polars as pl
    import pyarrow as pa

    source = series.dtype
    assert isinstance(source, pl.List) and isinstance(source.inner, pl.Struct)
    if series.len() == 0:
        return pl.Series("lists", [], dtype=dtype), pl.Series("good", [], dtype=pl.Boolean)
    struct_fields: dict[str, pl.DataType] = {f.name: _instance(f.dtype) for f in source.inner.fields}
    arrow = series.rechunk().to_arrow()
    flat_arrow = arrow.flatten()
    flat = pl.from_arrow(flat_arrow)
    assert isinstance(flat, pl.Series)
    items = pl.DataFrame({"\x00item": flat})
    element = pl.col("\x00item")
    declared = [field.name for field in checked.records[rname].fields]
    item_ok: list[pl.Expr] = [element.is_not_null()]  # a null item is not a record: the reader refuses it
    for field in struct_fields:
        if field not in declared:  # an unknown field (or a let's name), given
            item_ok.append(element.struct.field(field).is_null())
    values: dict[str, pl.Expr] = {}
    for field in declared:
        ftype = checked.record_fields[rname][field]
        if field in struct_fields:
            fsource = struct_fields[field]
            column = flat.struct.field(field) if _needs_conversion(ftype, fsource) else None
            value, fgiven, fgood = _scalar(checked, ftype, element.struct.field(field), fsource, column,
                                           checked.field_bounds.get((rname, field)))
        else:
            value, fgiven, fgood = _scalar(checked, ftype, element, pl.Null(), None, None)
        value, fine = _with_default(checked, value, fgiven, fgood, ftype, checked.field_defaults.get((rname, field)))
        values[field] = value
        item_ok.append(fine)
    if len(values) < len(checked.record_fields[rname]):  # record lets: compiled where exact, else per unit
        try:
            for let_name, expr in let_columns(checked, rname, dict(values)):
                values[let_name] = expr
                # a let is never none: null is a value the canonical column cannot hold (an int let
                # beyond Int64), and that item is the per-unit reader's
                item_ok.append(expr.is_not_null())
        except Unsupported:
            item_ok.append(pl.lit(False))
    inner = dtype.inner  # type: ignore[attr-defined]
    # Arrow has no 128-bit integer: scaled integers cross as Decimal(38, 0), exactly, and come back
    crossing = [pl.Decimal(38, 0) if f.dtype == pl.Int128 else f.dtype for f in inner.fields]
    item = pl.struct([values.get(f.name, _lit(None, f.dtype)).cast(f.dtype).cast(crossing_type).alias(f.name)
                      for f, crossing_type in zip(inner.fields, crossing, strict=True)])
    read = items.select(item.alias("item"), pl.all_horizontal(item_ok).fill_null(False).alias("ok"))
    lengths = series.list.len().fill_null(0).cast(pl.Int64)
    offsets = pl.concat([pl.Series([0], dtype=pl.Int64), lengths.cum_sum()])
    good = lengths <= MAX_LIST_ITEMS
    bad_items = (~read.get_column("ok")).arg_true().cast(pl.Int64)
    if bad_items.len():  # the rows holding them: the last offset at or before each bad item
        rows = offsets.search_sorted(bad_items, side="right") - 1
        good = good.scatter(rows.cast(pl.UInt32), False)
    struct_arrow = read.get_column("item").to_arrow()
    if isinstance(struct_arrow, pa.ChunkedArray):
        struct_arrow = struct_arrow.combine_chunks()
    lists = pa.LargeListArray.from_arrays(offsets.to_arrow(), struct_arrow, mask=series.is_null().to_arrow())
    out = pl.from_arrow(lists)
    assert isinstance(out, pl.Series)
    return out.cast(dtype).alias("lists"), good.alias("good")


def _instance(dtype: object) -> pl.DataType:
    """A polars data type as an instance (a struct field's type may be the class)."""
    return dtype() if isinstance(dtype, type) else dtype  # type: ignore[return-value]


def _has_default(default: object) -> bool:
    """A declared default (as ``language.kinds.has_default``: not the MISSING marker, not none)."""
    return default is not MISSING and default is not None


def _enum_lookup(checked: CheckedPolicy, enum_name: str) -> dict[str, int]:
    """Member index by spelling, as the per-unit reader looks members up (``language.kinds.enum_lookup``):
    a label, then every name over it (a member's name wins over another member's label)."""
    members = checked.enums[enum_name].members
    table: dict[str, int] = {}
    for index, member in enumerate(members):
        if member.label is not None and member.label not in table:
            table[member.label] = index
    for index, member in enumerate(members):
        table[member.name] = index
    return table


def _with_default(checked: CheckedPolicy, value: pl.Expr, given: pl.Expr, good: pl.Expr, type_: Type,
                  default: object) -> tuple[pl.Expr, pl.Expr]:
    """The value where given, the default (or none) where not; and where the result is certified."""
    import polars as pl

    dtype = canonical_dtype(checked, type_)
    assert dtype is not None
    if _has_default(default):
        if isinstance(default, tuple):
            if default:  # a non-empty list default: not held here
                return value, (given & good).fill_null(False)
            filler = _lit([], dtype)
        else:
            filler_value, fits = _canonical_scalar(type_, default)
            if not fits:
                return value, (given & good).fill_null(False)
            filler = _lit(filler_value, dtype)
        fine = ~given | good
    else:
        filler = _lit(None, dtype)
        fine = (given & good) if not type_.optional else (~given | good)
    return pl.when(given).then(value).otherwise(filler).cast(dtype), fine.fill_null(False)


def _canonical_scalar(type_: Type, value: object) -> tuple[object, bool]:
    """A per-unit value (a default, a converted cell) in canonical form, and whether it fits."""
    if value is None:
        return None, True
    if type_.kind in DECIMAL_KINDS:
        scaled = Decimal(value).scaleb(FACT_SCALE)  # type: ignore[arg-type]
        if scaled != scaled.to_integral_value():
            return None, False
        return int(scaled), True
    return value, True


# --------------------------------------------------------------------------- scalars
def _is_text(source: pl.DataType) -> bool:
    import polars as pl

    return source == pl.String or source == pl.Categorical or isinstance(source, pl.Enum)


def _needs_conversion(type_: Type, source: pl.DataType) -> bool:
    """Whether cells of ``source`` are read through the per-unit conversion (not natively)."""
    import polars as pl

    kind = type_.kind
    if source == pl.Null or source.is_nested() or source == pl.Object:
        return False
    if kind == "enum" or (kind == "text" and _is_text(source)):
        return False
    if kind == "bool" and source == pl.Boolean:
        return False
    if kind == "date" and source == pl.Date:
        return False
    if kind in ("int", *DECIMAL_KINDS) and (source.is_integer() or isinstance(source, pl.Decimal)):
        return False
    return True


def _scalar(checked: CheckedPolicy, type_: Type, raw: pl.Expr, source: pl.DataType, series: pl.Series | None,
            bounds: Bounds) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(canonical value, given, good) of a scalar cell: given = it holds a value (not null, not "" for a
    non-text fact: the per-unit reader reads both as absent); good = the value reads certainly as canonical.
    ``series`` holds the column's cells when they are read through the per-unit conversion."""
    import polars as pl

    dtype = canonical_dtype(checked, type_)
    assert dtype is not None
    kind = type_.kind
    if source == pl.Null:
        return _lit(None, dtype), pl.lit(False), pl.lit(False)
    if source == pl.Categorical or isinstance(source, pl.Enum):
        raw, source = raw.cast(pl.String), pl.String()
        series = series.cast(pl.String) if series is not None else None
    given = raw.is_not_null()
    if source == pl.String and kind != "text":
        given = given & (raw != "")
    nothing = _lit(None, dtype), given, pl.lit(False)
    if kind == "bool" and source == pl.Boolean:
        value, good = raw, pl.lit(True)
    elif kind == "text" and source == pl.String:
        value, good = raw, raw.str.len_chars() <= MAX_TEXT_CHARS
    elif kind == "enum" and source == pl.String:
        value = raw.replace_strict(_enum_lookup(checked, type_.name or ""), default=None, return_dtype=pl.Int32)
        good = value.is_not_null()
    elif kind == "enum":  # the per-unit reader reads members from text only
        return nothing
    elif kind == "date" and source == pl.Date:
        value, good = raw, _in_bounds(raw, bounds, 0, dates=True)
    elif kind in ("int", *DECIMAL_KINDS) and (source.is_integer() or isinstance(source, pl.Decimal)):
        value, good = _number(raw, source, kind, bounds)
    elif source.is_nested() or source == pl.Object or series is None:
        return nothing
    else:  # any other spelling: the per-unit conversion itself, once per distinct value
        value = _converted(raw, series, type_, dtype, bounds)
        good = value.is_not_null()
    return value.cast(dtype), given, (given & good).fill_null(False)


def _within_limit(value: pl.Expr, scale: int) -> pl.Expr:
    """|value| < 10**18 (the per-unit number limit) for an Int128 expression at ``scale``."""
    import polars as pl

    limit = NUMBER_LIMIT * 10 ** scale
    return (value < pl.lit(limit, dtype=pl.Int128)) & (value > pl.lit(-limit, dtype=pl.Int128))


def _number(raw: pl.Expr, source: pl.DataType, kind: str, bounds: Bounds) -> tuple[pl.Expr, pl.Expr]:
    """An integer or Decimal column read as an int or a scaled decimal, natively and exactly."""
    import polars as pl

    if kind == "int" and source in (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32):
        # the common case in 64 bits (no 128-bit arithmetic): every such value is a whole number
        wide = raw.cast(pl.Int64)
        good = (wide < NUMBER_LIMIT) & (wide > -NUMBER_LIMIT) & _in_bounds_64(wide, bounds)
        return wide, good
    if isinstance(source, pl.Decimal):
        scale = source.scale or 0
        physical = raw.to_physical().cast(pl.Int128)
    else:
        scale = 0
        physical = raw.cast(pl.Int128)
    good = _within_limit(physical, scale) if scale + 18 < 38 else pl.lit(True)
    target = 0 if kind == "int" else FACT_SCALE
    safe = pl.when(good).then(physical).otherwise(_lit(0, pl.Int128()))
    if scale > target:
        unit = _lit(10 ** (scale - target), pl.Int128())
        good = good & ((safe % unit) == 0)
        value = safe // unit
    elif scale < target:
        value = safe * _lit(10 ** (target - scale), pl.Int128())
    else:
        value = safe
    if kind == "percent":  # a bare number x with 0 < |x| <= 1: x% or the fraction x — the reader refuses it
        one = 10 ** FACT_SCALE
        good = good & ~((value != 0) & (value >= _lit(-one, pl.Int128())) & (value <= _lit(one, pl.Int128())))
    good = good & _in_bounds(value, bounds, target)
    return (value.cast(pl.Int64) if kind == "int" else value), good


def _in_bounds_64(value: pl.Expr, bounds: Bounds) -> pl.Expr:
    """Whether each whole number (Int64) is within the declared bounds (exact: ceil/floor of the bounds)."""
    import polars as pl

    good = pl.lit(True)
    if bounds is None:
        return good
    low, high, low_closed, high_closed = bounds
    if low is not None:
        edge = Decimal(low)  # type: ignore[arg-type]
        good = good & (value >= _clamped(math.ceil(edge)) if low_closed else value > _clamped(math.floor(edge)))
    if high is not None:
        edge = Decimal(high)  # type: ignore[arg-type]
        good = good & (value <= _clamped(math.floor(edge)) if high_closed else value < _clamped(math.ceil(edge)))
    return good


def _clamped(bound: int) -> int:
    """A bound as an Int64 literal: beyond the number limit it decides nothing the limit does not."""
    return int(max(-(NUMBER_LIMIT + 1), min(NUMBER_LIMIT + 1, bound)))


def _in_bounds(value: pl.Expr, bounds: Bounds, scale: int, *, dates: bool = False) -> pl.Expr:
    """Whether each value is within the declared bounds (a value at ``scale`` against exact bounds)."""
    import polars as pl

    good = pl.lit(True)
    if bounds is None:
        return good
    low, high, low_closed, high_closed = bounds
    if dates:
        if low is not None:
            good = good & (value >= pl.lit(low) if low_closed else value > pl.lit(low))
        if high is not None:
            good = good & (value <= pl.lit(high) if high_closed else value < pl.lit(high))
        return good
    if low is not None:
        edge = Decimal(low).scaleb(scale)  # type: ignore[arg-type]
        good = good & (value >= _lit(math.ceil(edge), pl.Int128()) if low_closed
                       else value > _lit(math.floor(edge), pl.Int128()))
    if high is not None:
        edge = Decimal(high).scaleb(scale)  # type: ignore[arg-type]
        good = good & (value <= _lit(math.floor(edge), pl.Int128()) if high_closed
                       else value < _lit(math.ceil(edge), pl.Int128()))
    return good


def _converted(raw: pl.Expr, series: pl.Series, type_: Type, dtype: pl.DataType, bounds: Bounds) -> pl.Expr:
    """Cells read by the per-unit conversion of the kind (once per distinct value): the same function decides."""
    import polars as pl

    convert: Callable[[object], object] | None = CONVERTERS.get(type_.kind)
    keys: list[object] = []
    values: list[object] = []
    if convert is not None:
        for key in series.drop_nulls().unique().to_list():
            try:
                converted = convert(key)
            except Bad:
                continue
            if not _python_in_bounds(converted, bounds):
                continue
            canonical, fits = _canonical_scalar(type_, converted)
            if fits:
                keys.append(key)
                values.append(canonical)
    if not keys:
        return _lit(None, dtype)
    source = series.dtype
    return raw.replace_strict(pl.Series(keys, dtype=source), pl.Series(values, dtype=dtype), default=None,
                              return_dtype=dtype)


def _python_in_bounds(value: object, bounds: Bounds) -> bool:
    """The per-unit bounds test (``facts._check_bounds``) on one converted value."""
    if bounds is None or value is None:
        return True
    low, high, low_closed, high_closed = bounds
    try:
        if low is not None and not (value >= low if low_closed else value > low):  # type: ignore[operator]
            return False
        if high is not None and not (value <= high if high_closed else value < high):  # type: ignore[operator]
            return False
    except TypeError:
        return False
    return True

