"""What users touch: the `dealer-risk` command line, and (next) the batch scorer, the API
and the dashboard. Imports features and models."""
