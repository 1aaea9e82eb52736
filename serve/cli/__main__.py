"""`python -m serve.cli`: the same as the `dealer-risk` console script."""

from serve.cli.main import run

run()
