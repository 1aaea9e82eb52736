"""The model stage of batch scoring on Spark: the champions' contributions and forecasts
computed by partitions of dealers (`mapInPandas`), with the same bundles' own methods.

Only the model calls move: they are the stage whose cost grows with the number of dealers
times the trees. The explanations compare each dealer with its peers and its own past,
which needs the whole population's contributions at once; they are computed on the driver
from these outputs by the same code as in one process (serve.batch.scoring.score_rows), so the
snapshot is the embedded engine's to the last digit.

The bundles travel inside the function's closure: PySpark broadcasts a pickled function
larger than 1 MB (spark.broadcast threshold of Python commands) once per executor rather
than once per task, and LightGBM boosters pickle as their model text. Spark Connect ships
the closure the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from features.catalog import BY_NAME
from serve.batch.champions import (
    FORECAST_COLUMNS,
    LEAVE,
    OPTIONAL,
    RISK_MODELS,
    SURVIVAL,
    Champions,
    ModelOutputs,
    model_outputs,
)

POSITION = "position__"
"""Each row's place in the driver's frame: the outputs come back in partition order."""


def model_outputs_on_spark(spark, rows: pd.DataFrame, champions: Champions) -> ModelOutputs:
    """What serve.batch.champions.model_outputs returns, computed on Spark by partitions
    of dealers."""
    rows = rows.reset_index(drop=True)
    live = {m: getattr(champions, m) for m in (*RISK_MODELS, "forecast", *OPTIONAL)
            if getattr(champions, m) is not None}
    names = sorted({n for bundle in live.values() for n in bundle.spec.names})
    widths = {m: len(live[m].spec.names) + 1 for m in RISK_MODELS if m in live}
    if not len(rows):
        return model_outputs(rows, champions)
    frame = spark.createDataFrame(_transport(rows, names), schema=_schema(names))
    result = (frame.repartition("dealer_id")  # spark.sql.shuffle.partitions of dealers
              .mapInPandas(_scorer(live), schema=_output_schema(widths, LEAVE in live,
                                                                SURVIVAL in live))
              .toPandas().sort_values(POSITION).reset_index(drop=True))
    if not np.array_equal(result[POSITION].to_numpy(), np.arange(len(rows))):
        raise RuntimeError("Spark returned the model outputs of other rows than it was sent")
    contributions = {m: np.vstack(result[m].to_numpy()).astype(float) for m in widths}
    forecast = (result[list(FORECAST_COLUMNS)].astype(float) if "forecast" in live else
                pd.DataFrame({c: np.full(len(rows), np.nan) for c in FORECAST_COLUMNS}))
    leave = result[LEAVE].to_numpy(dtype=float) if LEAVE in live else None
    curves = (np.vstack(result[SURVIVAL].to_numpy()).astype(float) if SURVIVAL in live
              else None)
    return ModelOutputs(contributions, forecast, leave, curves)


def _transport(rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The models' inputs as Spark carries them exactly: categoricals as text (the spec
    rebuilds the categories), every other feature as a double, as FeatureSpec.matrix
    reads it."""
    out = {POSITION: np.arange(len(rows), dtype=np.int64),
           "dealer_id": rows["dealer_id"].astype(str).to_numpy()}
    for name in names:
        if BY_NAME[name].categorical:
            out[name] = rows[name].astype("string").to_numpy(dtype=object, na_value=None)
        else:
            out[name] = pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame(out)


def _schema(names: list[str]):
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType
    return StructType([StructField(POSITION, LongType(), False),
                       StructField("dealer_id", StringType(), False)]
                      + [StructField(n, StringType() if BY_NAME[n].categorical
                                     else DoubleType(), True) for n in names])


def _output_schema(widths: dict[str, int], leave: bool, survival: bool):
    from pyspark.sql.types import ArrayType, DoubleType, LongType, StructField, StructType
    return StructType([StructField(POSITION, LongType(), False)]
                      + [StructField(m, ArrayType(DoubleType(), False), False) for m in widths]
                      + [StructField(c, DoubleType(), True) for c in FORECAST_COLUMNS]
                      + ([StructField(LEAVE, DoubleType(), False)] if leave else [])
                      + ([StructField(SURVIVAL, ArrayType(DoubleType(), False), False)]
                         if survival else []))


def _scorer(bundles: dict):
    """The function each partition runs: the bundles' own contributions and predict."""

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            batch = batch.reset_index(drop=True)
            out = {POSITION: batch[POSITION].to_numpy()}
            for model in RISK_MODELS:
                if model in bundles:
                    out[model] = list(bundles[model].contributions(batch))
            if "forecast" in bundles:
                predicted = bundles["forecast"].predict(batch)
                for column in FORECAST_COLUMNS:
                    out[column] = predicted[column].to_numpy(dtype=float)
            else:
                for column in FORECAST_COLUMNS:
                    out[column] = np.full(len(batch), np.nan)
            if LEAVE in bundles:
                out[LEAVE] = bundles[LEAVE].predict(batch)
            if SURVIVAL in bundles:
                out[SURVIVAL] = list(bundles[SURVIVAL].curves(batch))
            yield pd.DataFrame(out)

    return score
