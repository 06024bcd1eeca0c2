"""Customer value models: summaries, BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma.

Tables in, tables out: transactions come as a pyarrow/polars/pandas table, the
per-customer summary and scores come back as ``pyarrow.Table`` (call
``.to_pandas()`` or ``polars.from_arrow``). The model classes mirror the names
of the ``lifetimes`` package (``BetaGeoFitter`` → :class:`BGNBD`, …) so
existing analysis code ports with few changes. Every number is computed by the
Rust core; fitted parameters serialise to the core's versioned value-model
document, which every binding (Node, mobile) can load and score with.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple, Type, TypeVar, Union

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from . import _native
from ._columns import ColumnLike, TableLike, column, date_text, timestamps, to_array, to_table
from ._errors import InvalidArgumentError, InvalidModelError

__all__ = [
    "summary_from_transactions",
    "calibration_and_holdout_data",
    "BGNBD",
    "MBGNBD",
    "ParetoNBD",
    "GammaGamma",
    "BetaGeoFitter",
    "ModifiedBetaGeoFitter",
    "ParetoNBDFitter",
    "GammaGammaFitter",
    "FitInfo",
    "value_model_json",
    "load_value_model",
    "score",
]

DateLike = Union[str, _dt.date, _dt.datetime]
Prediction = Union[float, np.ndarray]


def _summary(
    transactions: TableLike,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: Optional[str],
    observation_period_end: DateLike,
    calibration_period_end: Optional[DateLike],
    freq: str,
    datetime_format: Optional[str],
    zone: str,
    decimals: Optional[int],
) -> pa.Table:
    table = to_table(transactions)
    ids = column(table, customer_id_col, "customer_id_col")
    when = timestamps(column(table, datetime_col, "datetime_col"), datetime_format)
    if monetary_value_col is None:
        values = pa.array(np.zeros(len(ids)))
    else:
        values = column(table, monetary_value_col, "monetary_value_col")
    cal = None
    if calibration_period_end is not None:
        cal = date_text(calibration_period_end, "calibration_period_end")
    out: pa.Table = _native.clv_summary(
        ids,
        when,
        values,
        date_text(observation_period_end, "observation_period_end"),
        freq,
        zone,
        decimals,
        cal,
    )
    return out.rename_columns([customer_id_col] + out.column_names[1:])


def summary_from_transactions(
    transactions: TableLike,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: Optional[str] = None,
    *,
    observation_period_end: DateLike,
    freq: str = "D",
    datetime_format: Optional[str] = None,
    zone: str = "UTC",
    decimals: Optional[int] = None,
) -> pa.Table:
    """Per-customer ``frequency, recency, T, monetary_value`` (``lifetimes``'
    ``summary_data_from_transaction_data``).

    Purchases on one local calendar day (in ``zone``) are merged; ``frequency``
    counts repeat purchase days, ``recency``/``T`` are ages in ``freq`` units
    (``"D"`` days, ``"W"`` weeks) at the last purchase and at
    ``observation_period_end`` (inclusive; later rows are ignored);
    ``monetary_value`` is the mean value of the repeat days. ``datetime_format``
    parses text dates (strptime codes, e.g. ``"%Y%m%d"``); naive timestamps are
    UTC. ``decimals`` rounds recency, T and values (the published CDNOW summary
    uses 2). Returns a ``pyarrow.Table`` ordered by customer id (as text), whose
    first column is named ``customer_id_col``.
    """
    return _summary(
        transactions,
        customer_id_col,
        datetime_col,
        monetary_value_col,
        observation_period_end,
        None,
        freq,
        datetime_format,
        zone,
        decimals,
    )


def calibration_and_holdout_data(
    transactions: TableLike,
    customer_id_col: str,
    datetime_col: str,
    calibration_period_end: DateLike,
    observation_period_end: DateLike,
    monetary_value_col: Optional[str] = None,
    *,
    freq: str = "D",
    datetime_format: Optional[str] = None,
    zone: str = "UTC",
    decimals: Optional[int] = None,
) -> pa.Table:
    """Calibration summary plus hold-out outcome per customer (``lifetimes``'
    ``calibration_and_holdout_data``): ``frequency_cal, recency_cal, T_cal,
    monetary_value_cal, frequency_holdout, monetary_value_holdout,
    duration_holdout``, for customers whose first purchase is on or before
    ``calibration_period_end``."""
    return _summary(
        transactions,
        customer_id_col,
        datetime_col,
        monetary_value_col,
        observation_period_end,
        calibration_period_end,
        freq,
        datetime_format,
        zone,
        decimals,
    )


class FitInfo:
    """Diagnostics of a fit: total log-likelihood, customers used, objective
    evaluations and whether the optimiser converged."""

    __slots__ = ("log_likelihood", "customers", "evaluations", "converged")

    def __init__(self, log_likelihood: float, customers: int, evaluations: int, converged: bool):
        self.log_likelihood = log_likelihood
        self.customers = customers
        self.evaluations = evaluations
        self.converged = converged

    def __repr__(self) -> str:
        return (
            f"FitInfo(log_likelihood={self.log_likelihood:.4f}, customers={self.customers}, "
            f"evaluations={self.evaluations}, converged={self.converged})"
        )


def _is_scalar(*values: Any) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) for v in values)


def _arrays(*cols: Any) -> Tuple[bool, List[Any]]:
    """Columns as pyarrow arrays; scalars become one-element arrays (and say so)."""
    scalar = _is_scalar(*cols)
    if scalar:
        return True, [pa.array([float(c)], pa.float64()) for c in cols]
    return False, [to_array(c) for c in cols]


def _result(scalar: bool, out: pa.Array) -> Prediction:
    values = out.to_numpy(zero_copy_only=False)
    return float(values[0]) if scalar else values


M = TypeVar("M", bound="_Model")


class _Model:
    """Shared parameter handling: a fitted model is its parameter dict."""

    _model: ClassVar[str]
    _names: ClassVar[Tuple[str, ...]]
    _section: ClassVar[str]

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = float(penalizer_coef)
        self._params: Optional[Dict[str, float]] = None
        self.info: Optional[FitInfo] = None

    @property
    def params(self) -> Dict[str, float]:
        """The fitted parameters by name (``params_`` in ``lifetimes``)."""
        if self._params is None:
            raise InvalidModelError(f"{type(self).__name__} is not fitted; call fit() first")
        return dict(self._params)

    params_ = params

    @property
    def log_likelihood_(self) -> float:
        """Total log-likelihood of the fitted data."""
        if self.info is None:
            raise InvalidModelError(f"{type(self).__name__} has no fit diagnostics")
        return self.info.log_likelihood

    def _set(self, params_json: str, info: Optional[FitInfo]) -> None:
        doc = _json.loads(params_json)
        self._params = {k: float(doc[k]) for k in self._names}
        self.info = info

    def _doc(self) -> Dict[str, Any]:
        return dict(self.params)

    def _params_json(self) -> str:
        return _json.dumps(self._doc())

    def to_json(self) -> str:
        """The versioned value-model document (``{"version": 1, ...}``) every binding reads."""
        return _native.clv_value_model(_json.dumps({"version": 1, self._section: self._doc()}))

    @classmethod
    def from_json(cls: Type[M], doc: Union[str, Mapping[str, Any]]) -> M:
        """Reads a value-model document (checks version and parameters)."""
        text = doc if isinstance(doc, str) else _json.dumps(doc)
        canonical = _json.loads(_native.clv_value_model(text))
        section = canonical.get(cls._section)
        if section is None:
            raise InvalidModelError(f"the value model has no {cls._section} model")
        if cls._section == "purchase" and section.get("model") != cls._model:
            raise InvalidModelError(
                f"the value model holds a {section.get('model')} model, not {cls._model}"
            )
        model = cls()
        model._set(_json.dumps(section), None)
        return model

    @classmethod
    def from_params(cls: Type[M], **params: float) -> M:
        """A model with given parameters (validated by the core on first use)."""
        missing = [n for n in cls._names if n not in params]
        if missing or set(params) - set(cls._names):
            raise InvalidArgumentError(
                f"{cls.__name__} takes parameters {', '.join(cls._names)}", path="params"
            )
        return cls.from_json({"version": 1, cls._section: _section_doc(cls, params)})

    def __repr__(self) -> str:
        if self._params is None:
            return f"<{type(self).__name__}: not fitted>"
        inner = ", ".join(f"{k}={v:.4g}" for k, v in self._params.items())
        return f"<{type(self).__name__}: {inner}>"


def _section_doc(cls: Type[_Model], params: Mapping[str, float]) -> Dict[str, Any]:
    doc: Dict[str, Any] = {k: float(params[k]) for k in cls._names}
    if cls._section == "purchase":
        doc = {"model": cls._model, **doc}
    return doc


class _PurchaseModel(_Model):
    _section = "purchase"

    def _doc(self) -> Dict[str, Any]:
        return {"model": self._model, **self.params}

    def fit(
        self: M,
        frequency: ColumnLike,
        recency: ColumnLike,
        T: ColumnLike,
        *,
        max_evaluations: int = 20_000,
    ) -> M:
        """Maximum-likelihood fit on per-customer ``frequency`` (repeat
        purchases), ``recency`` and ``T`` (columns of equal length). Returns self."""
        params, ll, customers, evaluations, converged = _native.clv_fit_purchase(
            self._model,
            to_array(frequency),
            to_array(recency),
            to_array(T),
            self.penalizer_coef,
            max_evaluations,
        )
        self._set(params, FitInfo(ll, customers, evaluations, converged))
        return self

    def _predict(self, what: str, t: float, frequency: Any, recency: Any, T: Any) -> Prediction:
        scalar, cols = _arrays(frequency, recency, T)
        return _result(scalar, _native.clv_predict(self._params_json(), what, float(t), *cols))

    def conditional_probability_alive(
        self, frequency: ColumnLike, recency: ColumnLike, T: ColumnLike
    ) -> Prediction:
        """P(alive at T) per customer (a float for scalar inputs)."""
        return self._predict("p_alive", 0.0, frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: float, frequency: ColumnLike, recency: ColumnLike, T: ColumnLike
    ) -> Prediction:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` units."""
        return self._predict("conditional_expected_purchases", t, frequency, recency, T)

    def expected_number_of_purchases_up_to_time(self, t: Union[float, ColumnLike]) -> Prediction:
        """E[X(t)]: expected purchases of a new customer within ``t`` units."""
        scalar, cols = _arrays(t)
        return _result(scalar, _native.clv_expected_purchases(self._params_json(), cols[0]))

    def log_likelihood(self, frequency: ColumnLike, recency: ColumnLike, T: ColumnLike) -> Prediction:
        """ln L per customer."""
        return self._predict("log_likelihood", 0.0, frequency, recency, T)


class BGNBD(_PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005); ``lifetimes.BetaGeoFitter``. Parameters r, alpha, a, b."""

    _model = "bgnbd"
    _names = ("r", "alpha", "a", "b")


class MBGNBD(_PurchaseModel):
    """MBG/NBD (Batislam et al. 2007); ``lifetimes.ModifiedBetaGeoFitter``. Parameters r, alpha, a, b."""

    _model = "mbgnbd"
    _names = ("r", "alpha", "a", "b")


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD (Schmittlein et al. 1987); ``lifetimes.ParetoNBDFitter``. Parameters r, alpha, s, beta."""

    _model = "paretonbd"
    _names = ("r", "alpha", "s", "beta")


class GammaGamma(_Model):
    """Gamma-Gamma spend model (Fader & Hardie); ``lifetimes.GammaGammaFitter``. Parameters p, q, gamma."""

    _model = "gammagamma"
    _names = ("p", "q", "gamma")
    _section = "spend"

    def fit(
        self,
        frequency: ColumnLike,
        monetary_value: ColumnLike,
        *,
        max_evaluations: int = 20_000,
    ) -> "GammaGamma":
        """Fits on repeat buyers' ``frequency`` and mean repeat ``monetary_value``
        (rows with frequency 0 or value 0 carry no spend information and are skipped)."""
        params, ll, customers, evaluations, converged = _native.clv_fit_gamma_gamma(
            to_array(frequency), to_array(monetary_value), self.penalizer_coef, max_evaluations
        )
        self._set(params, FitInfo(ll, customers, evaluations, converged))
        return self

    def conditional_expected_average_profit(
        self, frequency: ColumnLike, monetary_value: ColumnLike
    ) -> Prediction:
        """E[M | x, m̄]: expected average transaction value per customer."""
        scalar, cols = _arrays(frequency, monetary_value)
        return _result(scalar, _native.clv_expected_average_value(self._params_json(), *cols))

    conditional_expected_average_value = conditional_expected_average_profit

    def customer_lifetime_value(
        self,
        transaction_prediction_model: _PurchaseModel,
        frequency: ColumnLike,
        recency: ColumnLike,
        T: ColumnLike,
        monetary_value: ColumnLike,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> Prediction:
        """Discounted CLV over ``time`` months at a monthly ``discount_rate``;
        ``freq`` is the purchase model's time unit (``"D"`` or ``"W"``)."""
        scalar, (x, tx, t, m) = _arrays(frequency, recency, T, monetary_value)
        out = _native.clv_lifetime_value(
            transaction_prediction_model._params_json(),
            self._params_json(),
            x,
            tx,
            t,
            m,
            int(time),
            float(discount_rate),
            freq,
        )
        return _result(scalar, out)


BetaGeoFitter = BGNBD
ModifiedBetaGeoFitter = MBGNBD
ParetoNBDFitter = ParetoNBD
GammaGammaFitter = GammaGamma


def value_model_json(
    purchase: Optional[_PurchaseModel] = None, spend: Optional[GammaGamma] = None
) -> str:
    """One value-model document holding a purchase and/or a spend model (what a
    server ships to phones; ``ValueModel::from_json`` in the core)."""
    doc: Dict[str, Any] = {"version": 1}
    if purchase is not None:
        doc["purchase"] = purchase._doc()
    if spend is not None:
        doc["spend"] = spend._doc()
    return _native.clv_value_model(_json.dumps(doc))


_PURCHASE_CLASSES: Dict[str, Type[_PurchaseModel]] = {
    c._model: c for c in (BGNBD, MBGNBD, ParetoNBD)
}


def load_value_model(
    doc: Union[str, Mapping[str, Any]],
) -> Tuple[Optional[_PurchaseModel], Optional[GammaGamma]]:
    """Reads a value-model document into ``(purchase_model, spend_model)``."""
    text = doc if isinstance(doc, str) else _json.dumps(doc)
    canonical = _json.loads(_native.clv_value_model(text))
    purchase: Optional[_PurchaseModel] = None
    spend: Optional[GammaGamma] = None
    if "purchase" in canonical:
        purchase = _PURCHASE_CLASSES[canonical["purchase"]["model"]].from_json(canonical)
    if "spend" in canonical:
        spend = GammaGamma.from_json(canonical)
    return purchase, spend


def score(
    summary: TableLike,
    purchase_model: _PurchaseModel,
    spend_model: Optional[GammaGamma] = None,
    *,
    horizon: float = 4.345,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    freq: str = "W",
    customer_id_col: Optional[str] = None,
) -> pa.Table:
    """Scores a summary table (``frequency, recency, T`` and, with a spend model,
    ``monetary_value``): returns a ``pyarrow.Table`` with the id column (the
    first column, or ``customer_id_col``), ``p_alive``, ``expected_purchases``
    over ``horizon`` units and, with a spend model, ``expected_value`` and
    ``clv`` — the score names rules read (``score("p_alive") < 0.3``)."""
    table = to_table(summary)
    id_col = customer_id_col or table.column_names[0]
    x, tx, t = (column(table, c, c) for c in ("frequency", "recency", "T"))
    out: Dict[str, Any] = {id_col: column(table, id_col, "customer_id_col")}
    params = purchase_model._params_json()
    out["p_alive"] = _native.clv_predict(params, "p_alive", 0.0, x, tx, t)
    out["expected_purchases"] = _native.clv_predict(
        params, "conditional_expected_purchases", float(horizon), x, tx, t
    )
    if spend_model is not None:
        m = column(table, "monetary_value", "monetary_value")
        out["expected_value"] = _native.clv_expected_average_value(
            spend_model._params_json(), x, m
        )
        out["clv"] = _native.clv_lifetime_value(
            params,
            spend_model._params_json(),
            x,
            tx,
            t,
            m,
            int(months),
            float(monthly_discount_rate),
            freq,
        )
    return pa.table(out)
