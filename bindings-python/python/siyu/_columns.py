"""Tables and columns in: anything Arrow-shaped (pyarrow, polars, pandas via the
Arrow PyCapsule interface), NumPy arrays or plain sequences, normalised to pyarrow."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Sequence, Union

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from ._errors import InvalidArgumentError

TableLike = Any
"""A pyarrow/polars/pandas table, anything with ``__arrow_c_stream__``, or a
mapping of column name → sequence."""

ColumnLike = Any
"""A pyarrow array, polars/pandas Series, NumPy array or plain sequence."""


def to_table(data: TableLike) -> pa.Table:
    """``data`` as a pyarrow Table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if isinstance(data, Mapping):
        return pa.table({k: to_array(v) for k, v in data.items()})
    raise InvalidArgumentError(
        f"expected a table (pyarrow, polars, pandas or a mapping of columns), got {type(data).__name__}"
    )


def to_array(col: ColumnLike) -> pa.Array:
    """One column as a contiguous pyarrow Array."""
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks()
    if isinstance(col, pa.Array):
        return col
    module = type(col).__module__.split(".")[0]
    if module == "polars":
        return to_array(col.to_arrow())
    if module == "pandas" or hasattr(col, "__array__"):
        return pa.array(col)
    if hasattr(col, "__arrow_c_stream__"):
        return pa.chunked_array(col).combine_chunks()
    if isinstance(col, (str, bytes)) or not isinstance(col, Sequence):
        raise InvalidArgumentError(f"expected a column of values, got {type(col).__name__}")
    return pa.array(list(col))


def column(table: pa.Table, name: str, role: str) -> pa.Array:
    """Column ``name`` of ``table`` (``role`` names the argument in the error)."""
    if name not in table.column_names:
        raise InvalidArgumentError(
            f"{role}: no column {name!r} (columns: {', '.join(table.column_names)})",
            path=role,
        )
    return table.column(name).combine_chunks()


def timestamps(col: pa.Array, fmt: Union[str, None] = None) -> pa.Array:
    """Text parsed with ``fmt`` (strptime codes) when given; other types pass through
    (the core reads dates, timestamps and RFC 3339 text; naive values are UTC)."""
    texty = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
    texty = texty or col.type == pa.string_view()
    if fmt is not None and texty:
        return pc.strptime(col.cast(pa.string()), format=fmt, unit="us")
    return col


def date_text(value: Union[str, _dt.date, _dt.datetime], role: str) -> str:
    """A calendar date as ``YYYY-MM-DD`` (datetimes give their own date)."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    stamp = getattr(value, "date", None)  # pandas.Timestamp
    if callable(stamp):
        return str(stamp().isoformat())
    raise InvalidArgumentError(f"{role}: expected a date, got {type(value).__name__}", path=role)
