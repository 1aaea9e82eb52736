"""Data in: the contract, loading and validation, the simulator, and (next) point-in-time
dealer x month features and labels. Imports nothing from models or serve."""
