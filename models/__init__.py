"""Models over the features layer: training, calibration, backtests, explanations and the
MLflow registry. Imports features, never serve."""
