"""Retention programs' effects: decision rows from the panel and the programs table
(rows), a doubly robust learner per program kind with intervals (learner), the Qini on
randomized pilots out of time (evaluation), and the run that fits, gates and registers
the effect model in MLflow (pipeline)."""
