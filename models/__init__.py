"""Models over the features layer: time splits, LightGBM training and calibration,
baselines, rolling-origin backtests, explanations (TreeSHAP reasons), alert rules,
monitoring, and MLflow tracking with the promotion gate. Imports features, never serve."""
