"""Data in: the data contract, loading and validation (rejects with their reasons), the
simulator, and the point-in-time dealer x month panel (the feature catalog, features and
labels), on DuckDB in this process or on Spark. Imports nothing from models or serve."""
