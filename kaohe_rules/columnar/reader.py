"""The vectorised fact reader: a typed input table → canonical fact columns (:mod:`.canonical`), column at a time.

Why a second reader: the per-unit reader costs microseconds per unit, more than the compiled columnar
program itself.  This one reads a whole record batch with polars expressions, and is allowed to be
*incomplete* but never *different*: a row it cannot certify — a value it does not read natively, a cell
the per-unit reader would refuse, anything doubtful — is marked not ``clean`` and goes per unit, which
gives that row's exact result or its exact error.  So every rule here is "this row is certainly read as
the per-unit reader reads it", never a second reading of the clerk's input.

What is read natively (vectorised):

* ``id`` (text, or a whole number: the per-unit reader turns it into its digits), ``name`` (text),
  ``category`` (a category's name or label);
* ``bool`` from Boolean columns; ``int`` from integer or Decimal columns (whole numbers);
  ``decimal``/``money``/``percent`` from integer or Decimal columns (at most FACT_SCALE places after the
  point, and a bare percent ``x`` with ``0 < |x| <= 1`` is not clean: the per-unit reader refuses it as
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
them exactly (else a row holding such records is not clean).  Not read here (those rows or policies go per
unit): ``per period`` facts, record-valued facts,
lists of scalars, non-empty list defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..language.model import MISSING, CheckedPolicy
from ..language.types import Type
from ..limits import MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, NUMBER_LIMIT
from ..runtime.coerce.convert import CONVERTERS, Bad
from .layout import DECIMAL_KINDS, FACT_SCALE, Canonical, canonical_dtype, canonical_schema
from .recordlets import Unsupported, let_columns

if TYPE_CHECKING:
    import polars as pl

_DECIMAL_KINDS = DECIMAL_KINDS
Bounds = tuple[object, object, bool, bool] | None


def read_table(checked: CheckedPolicy, frame: pl.DataFrame) -> Canonical:
    """The canonical frame of ``frame``'s rows and which rows are certified clean (see the module doc)."""
    import polars as pl

    schema = canonical_schema(checked)
    height = frame.height
    if schema is None or checked.period_facts:
        # a fact without a canonical column, or facts per period: every row goes per unit
        empty = schema or {"__id": pl.String(), "__name": pl.String(), "__category": pl.String()}
        return Canonical(pl.DataFrame(schema=empty).clear(height) if height else pl.DataFrame(schema=empty),
                         pl.Series("clean", [False] * height, dtype=pl.Boolean))
    reader = _Reader(checked, frame)
    return reader.read(schema)


class _Reader:
    """One batch's reading: the columns built so far and the rows still clean."""

    def __init__(self, checked: CheckedPolicy, frame: pl.DataFrame) -> None:
        import polars as pl

        self.checked = checked
        self.frame = frame
        self.height = frame.height
        self.ok = pl.Series("clean", [True] * self.height, dtype=pl.Boolean)

    def refuse(self, bad: pl.Series) -> None:
        """Rows where ``bad`` is True (or null) are not clean."""
        self.ok = self.ok & ~bad.fill_null(True)

    def column(self, name: str) -> pl.Series | None:
        return self.frame.get_column(name) if name in self.frame.columns else None

    def read(self, schema: dict[str, pl.DataType]) -> Canonical:
        import polars as pl

        checked = self.checked
        out: dict[str, pl.Series] = {}
        out["__id"] = self._id()
        out["__name"] = self._name()
        category = self._category()
        out["__category"] = category
        known = set(schema) - {"__id", "__name", "__category"}
        for name in self.frame.columns:
            if name in ("id", "name", "category") or name in known:
                continue
            self.refuse(self.frame.get_column(name).is_not_null())  # an unknown fact, given: the reader refuses it
        for name, type_ in checked.fact_types.items():
            cats = [c for c, plan in checked.plans.items() if name in plan.facts]
            allowed = category.is_in(cats) if cats else pl.Series([False] * self.height, dtype=pl.Boolean)
            raw = self.column(name)
            if raw is not None:
                self.refuse(raw.is_not_null() & ~allowed)  # a fact of another category, given
            value = self._fact(name, type_, raw, allowed)
            # only the category's facts are in a result's facts: the others are null
            out[name] = pl.select(pl.when(pl.lit(allowed)).then(pl.lit(value)).otherwise(None)
                                  .cast(schema[name])).to_series().alias(name)
        frame = pl.DataFrame([out[name].cast(dtype).alias(name) for name, dtype in schema.items()])
        return Canonical(frame, self.ok.alias("clean"))

    # ------------------------------------------------------------------ envelope
    def _id(self) -> pl.Series:
        import polars as pl

        raw = self.column("id")
        if raw is None:
            self.refuse(pl.Series([True] * self.height))
            return pl.Series("__id", [None] * self.height, dtype=pl.String)
        if raw.dtype.is_integer():
            self.refuse(~_within_limit(raw))
            raw = raw.cast(pl.String)
        elif raw.dtype == pl.Categorical or isinstance(raw.dtype, pl.Enum):
            raw = raw.cast(pl.String)
        if raw.dtype != pl.String:
            self.refuse(pl.Series([True] * self.height))
            return pl.Series("__id", [None] * self.height, dtype=pl.String)
        # not blank (Python's str.strip also strips \x1c-\x1f, which Unicode does not call white space)
        good = raw.str.contains(r"[^\s\x1c-\x1f]") & (raw.str.len_chars() <= MAX_ID_CHARS)
        self.refuse(~good)
        return raw.alias("__id")

    def _name(self) -> pl.Series:
        import polars as pl

        raw = self.column("name")
        if raw is None or raw.dtype == pl.Null:
            return pl.Series("__name", [None] * self.height, dtype=pl.String)
        if raw.dtype == pl.Categorical or isinstance(raw.dtype, pl.Enum):
            raw = raw.cast(pl.String)
        if raw.dtype != pl.String:
            self.refuse(raw.is_not_null())
            return pl.Series("__name", [None] * self.height, dtype=pl.String)
        self.refuse((raw.str.len_chars() > MAX_TEXT_CHARS).fill_null(False))
        return raw.alias("__name")

    def _category(self) -> pl.Series:
        import polars as pl

        raw = self.column("category")
        if raw is not None and (raw.dtype == pl.Categorical or isinstance(raw.dtype, pl.Enum)):
            raw = raw.cast(pl.String)
        if raw is None or raw.dtype != pl.String:
            self.refuse(pl.Series([True] * self.height))
            return pl.Series("__category", [None] * self.height, dtype=pl.String)
        spellings = {info.label: name for name, info in self.checked.categories.items()
                     if info.label and info.label not in self.checked.plans}
        spellings.update({name: name for name in self.checked.plans})
        category = raw.replace_strict(spellings, default=None, return_dtype=pl.String)
        self.refuse(category.is_null())
        return category.alias("__category")

    # --------------------------------------------------------------------- facts
    def _fact(self, name: str, type_: Type, raw: pl.Series | None, allowed: pl.Series) -> pl.Series:
        checked = self.checked
        default = checked.fact_defaults.get(name)
        if type_.kind == "list":
            value, given, good = _list_column(checked, type_, raw, self.height)
        else:
            value, given, good = _scalar_column(checked, type_, raw, self.height, checked.fact_bounds.get(name))
        value, fine = _with_default(value, given, good, type_, default)
        self.refuse(allowed & ~fine)
        return value


def _with_default(value: pl.Series, given: pl.Series, good: pl.Series, type_: Type,
                  default: object) -> tuple[pl.Series, pl.Series]:
    """The value where given, the default (or none) where not; and where the result is certified."""
    import polars as pl

    if _has_default(default):
        if isinstance(default, tuple):
            if default:  # a non-empty list default: not held here
                return value, given & good
            filler: Any = pl.lit([], dtype=value.dtype)
        else:
            filler_value, fits = _canonical_scalar(type_, default)
            if not fits:
                return value, given & good
            filler = pl.lit(filler_value, dtype=value.dtype)
        fine = ~given | good
    else:
        filler = pl.lit(None, dtype=value.dtype)
        fine = (given & good) if not type_.optional else (~given | good)
    filled = pl.select(pl.when(pl.lit(given)).then(pl.lit(value)).otherwise(filler)).to_series()
    return filled.alias(value.name), fine.fill_null(False)


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


def _canonical_scalar(type_: Type, value: object) -> tuple[object, bool]:
    """A per-unit value (a default, a converted cell) in canonical form, and whether it fits."""
    if value is None:
        return None, True
    if type_.kind in _DECIMAL_KINDS:
        scaled = Decimal(value).scaleb(FACT_SCALE)  # type: ignore[arg-type]
        if scaled != scaled.to_integral_value():
            return None, False
        return int(scaled), True
    return value, True


# --------------------------------------------------------------------------- scalars
def _scalar_column(checked: CheckedPolicy, type_: Type, raw: pl.Series | None, height: int,
                   bounds: Bounds) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(canonical values, given, good): given = the cell holds a value (not null, not "" for a non-text
    fact: the per-unit reader reads both as absent); good = the given value reads certainly as canonical."""
    import polars as pl

    dtype = canonical_dtype(checked, type_)
    assert dtype is not None
    kind = type_.kind
    if raw is None or raw.dtype == pl.Null:
        nothing = pl.Series([None] * height, dtype=dtype)
        false = pl.Series([False] * height, dtype=pl.Boolean)
        return nothing, false, false
    if raw.dtype == pl.Categorical or isinstance(raw.dtype, pl.Enum):
        raw = raw.cast(pl.String)
    given = raw.is_not_null()
    if raw.dtype == pl.String and kind != "text":
        given = given & (raw != "")
    source = raw.dtype
    value: pl.Series
    if kind == "bool" and source == pl.Boolean:
        value, good = raw, given
    elif kind == "text" and source == pl.String:
        value, good = raw, raw.str.len_chars() <= MAX_TEXT_CHARS
    elif kind == "enum" and source == pl.String:
        table = _enum_lookup(checked, type_.name or "")
        value = raw.replace_strict(table, default=None, return_dtype=pl.Int32)
        good = value.is_not_null()
    elif kind == "enum":  # the per-unit reader reads members from text only
        value, good = pl.Series([None] * height, dtype=dtype), pl.Series([False] * height, dtype=pl.Boolean)
    elif kind == "date" and source == pl.Date:
        value, good = raw, _in_bounds(raw, bounds, 0, dates=True)
    elif kind in ("int", *_DECIMAL_KINDS) and (source.is_integer() or isinstance(source, pl.Decimal)):
        value, good = _number_column(raw, kind, bounds)
    elif source.is_nested() or source == pl.Object:
        value, good = pl.Series([None] * height, dtype=dtype), pl.Series([False] * height, dtype=pl.Boolean)
    else:  # any other spelling: the per-unit conversion itself, once per distinct value
        value, good = _converted(raw, type_, dtype, bounds)
    return value.cast(dtype), given, (given & good.fill_null(False))


def _within_limit(scaled: pl.Series, scale: int = 0) -> pl.Series:
    """|value| < 10**18 (the per-unit number limit) for a column of integers at ``scale``."""
    import polars as pl

    limit = pl.lit(NUMBER_LIMIT * 10 ** scale, dtype=pl.Int128)
    wide = scaled.cast(pl.Int128)
    return pl.select((wide < limit) & (wide > -limit)).to_series()


def _number_column(raw: pl.Series, kind: str, bounds: Bounds) -> tuple[pl.Series, pl.Series]:
    """An integer or Decimal column read as an int or a scaled decimal, natively."""
    import polars as pl

    if isinstance(raw.dtype, pl.Decimal):
        scale = raw.dtype.scale or 0
        physical = raw.to_physical().cast(pl.Int128)
    else:
        scale = 0
        physical = raw.cast(pl.Int128)
    good = _within_limit(physical, scale) if scale + 18 < 38 else pl.Series([True] * raw.len())
    target = 0 if kind == "int" else FACT_SCALE
    safe = pl.select(pl.when(pl.lit(good)).then(pl.lit(physical)).otherwise(0)).to_series()
    if scale > target:
        unit = pl.lit(10 ** (scale - target), dtype=pl.Int128)
        frame = pl.DataFrame({"v": safe})
        exact = frame.select((pl.col("v") % unit) == 0).to_series()
        value = frame.select(pl.col("v") // unit).to_series()
        good = good & exact
    elif scale < target:
        value = pl.DataFrame({"v": safe}).select(pl.col("v") * pl.lit(10 ** (target - scale),
                                                                      dtype=pl.Int128)).to_series()
    else:
        value = safe
    if kind == "percent":  # a bare number x with 0 < |x| <= 1: x% or the fraction x — the reader refuses it
        one = 10 ** FACT_SCALE
        good = good & ~((value != 0) & (value >= -one) & (value <= one))
    good = good & _in_bounds(value, bounds, target)
    if kind == "int":
        value = value.cast(pl.Int64)
    return value, good


def _in_bounds(value: pl.Series, bounds: Bounds, scale: int, *, dates: bool = False) -> pl.Series:
    """Whether each value is within the declared bounds (a value at ``scale`` against exact bounds)."""
    import polars as pl

    good = pl.Series([True] * value.len(), dtype=pl.Boolean)
    if bounds is None:
        return good
    low, high, low_closed, high_closed = bounds
    if dates:
        if low is not None:
            good = good & (value >= low if low_closed else value > low)
        if high is not None:
            good = good & (value <= high if high_closed else value < high)
        return good
    frame = pl.DataFrame({"v": value.cast(pl.Int128)})
    tests = []
    if low is not None:
        edge = Decimal(low).scaleb(scale)  # type: ignore[arg-type]
        tests.append(pl.col("v") >= pl.lit(math.ceil(edge), dtype=pl.Int128) if low_closed
                     else pl.col("v") > pl.lit(math.floor(edge), dtype=pl.Int128))
    if high is not None:
        edge = Decimal(high).scaleb(scale)  # type: ignore[arg-type]
        tests.append(pl.col("v") <= pl.lit(math.floor(edge), dtype=pl.Int128) if high_closed
                     else pl.col("v") < pl.lit(math.ceil(edge), dtype=pl.Int128))
    for test in tests:
        good = good & frame.select(test).to_series()
    return good


def _converted(raw: pl.Series, type_: Type, dtype: pl.DataType, bounds: Bounds) -> tuple[pl.Series, pl.Series]:
    """Cells read by the per-unit conversion of the kind (once per distinct value): the same function decides."""
    import polars as pl

    convert: Callable[[object], object] | None = CONVERTERS.get(type_.kind)
    keys: list[object] = []
    values: list[object] = []
    if convert is not None:
        for key in raw.drop_nulls().unique().to_list():
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
        return pl.Series([None] * raw.len(), dtype=dtype), pl.Series([False] * raw.len(), dtype=pl.Boolean)
    value = raw.replace_strict(pl.Series(keys, dtype=raw.dtype), pl.Series(values, dtype=dtype), default=None,
                               return_dtype=dtype)
    return value, value.is_not_null()


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


# --------------------------------------------------------------------------- lists of records
def _list_column(checked: CheckedPolicy, type_: Type, raw: pl.Series | None,
                 height: int) -> tuple[pl.Series, pl.Series, pl.Series]:
    """A list-of-records fact: (canonical lists, given, good), every item's fields read as facts are."""
    import polars as pl

    dtype = canonical_dtype(checked, type_)
    assert dtype is not None and type_.elem is not None
    rname = type_.elem.name or ""
    false = pl.Series([False] * height, dtype=pl.Boolean)
    if raw is None or raw.dtype == pl.Null:
        return pl.Series([None] * height, dtype=dtype), false, false
    given = raw.is_not_null()
    if not (isinstance(raw.dtype, pl.List) and isinstance(raw.dtype.inner, pl.Struct)):
        return pl.Series([None] * height, dtype=dtype), given, false
    lengths = raw.list.len()
    good = lengths <= MAX_LIST_ITEMS
    rows = pl.DataFrame({"__row": pl.int_range(height, eager=True).cast(pl.UInt32), "__item": raw})
    items = rows.filter(pl.col("__item").list.len() > 0).explode("__item")
    declared = [field.name for field in checked.records[rname].fields]
    lets = [name for name in checked.record_fields[rname] if name not in declared]
    item = items.get_column("__item")
    struct_fields = item.struct.fields
    item_ok = item.is_not_null()  # a null item is not a record: the per-unit reader refuses it
    fields: dict[str, pl.Series] = {}
    unnested = item.struct.unnest() if struct_fields else pl.DataFrame({"__none": [None] * item.len()})
    for name in struct_fields:
        if name not in declared:  # an unknown field (or a let's name), given
            item_ok = item_ok & ~unnested.get_column(name).is_not_null()
    for name in declared:
        ftype = checked.record_fields[rname][name]
        column = unnested.get_column(name) if name in struct_fields else None
        value, fgiven, fgood = _scalar_column(checked, ftype, column, item.len(),
                                              checked.field_bounds.get((rname, name)))
        value, fine = _with_default(value, fgiven, fgood, ftype, checked.field_defaults.get((rname, name)))
        fields[name] = value.alias(name)
        item_ok = item_ok & fine
    if lets:  # a record let: compiled where recordlets can (exactly), else the rows go per unit
        try:
            derived = let_columns(checked, rname)
        except Unsupported:
            item_ok = item_ok & False
        else:
            item_frame = pl.DataFrame(list(fields.values())) if fields else pl.DataFrame()
            for name, expr in derived:
                item_frame = item_frame.with_columns(expr.alias(name))
                fields[name] = item_frame.get_column(name)
    inner = dtype.inner  # type: ignore[attr-defined]
    struct = pl.DataFrame([fields.get(f.name, pl.Series(f.name, [None] * item.len(), dtype=f.dtype)).cast(f.dtype)
                           .alias(f.name) for f in inner.fields]).to_struct("__item") if item.len() else None
    if struct is None:
        value = pl.select(pl.when(pl.lit(given)).then(pl.lit([], dtype=dtype)).otherwise(None)).to_series()
        return value.cast(dtype), given, given & good.fill_null(False)
    grouped = (pl.DataFrame({"__row": items.get_column("__row"), "__item": struct, "__ok": item_ok.fill_null(False)})
               .group_by("__row", maintain_order=True).agg(pl.col("__item"), pl.col("__ok").all()))
    whole = (pl.DataFrame({"__row": pl.int_range(height, eager=True).cast(pl.UInt32)})
             .join(grouped, on="__row", how="left", maintain_order="left"))
    lists = whole.get_column("__item")
    lists = pl.select(pl.when(pl.lit(given) & pl.lit(lists).is_null()).then(pl.lit([], dtype=dtype))
                      .otherwise(pl.lit(lists))).to_series()
    oks = whole.get_column("__ok").fill_null(True)
    return lists.cast(dtype), given, given & good.fill_null(False) & oks
