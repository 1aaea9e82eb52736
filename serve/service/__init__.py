"""The served state and the documents answered from it: snapshots and champion models held
in memory (state.py), and per resource the selection and document both the API and the
dashboard show (risk, dealers, alerts, reps, support, what-if and levers, posted scoring).
Failures are said without HTTP (errors.py); each delivery turns them into its own form."""
