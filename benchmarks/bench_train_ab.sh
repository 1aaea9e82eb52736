#!/usr/bin/env bash
# `dealer-risk train` of an older commit against this working tree, alternating, 3 runs each,
# on the test suite's small network (300 dealers x 30 months, seed 3) with its small model
# settings, each run a fresh process and a fresh MLflow store. Run alone on the machine.
#
#   benchmarks/bench_train_ab.sh 1f06ab2          # prints each run and the medians
set -euo pipefail
base="${1:?usage: benchmarks/bench_train_ab.sh BASE_COMMIT}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="$repo/.venv/bin/python"
work="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$repo" worktree add -f "$work/base" "$base" >/dev/null 2>&1
# the CLI tests' own settings, so that the figures are those of the suite's trains
(cd "$repo" && "$py" -c "from tests.serve.test_cli_models import SMALL_MODELS; print(SMALL_MODELS)") \
  > "$work/dealer-risk.toml"
cd "$work"
"$repo/.venv/bin/dealer-risk" simulate net --dealers 300 --months 30 --seed 3 >/dev/null 2>&1
echo "# benchmarks/bench_train_ab.sh $base   ($(uname -n), $(date +%F), $(nproc) cores)"
declare -A times
for i in 1 2 3; do
  for version in base head; do
    rm -rf "$work/.dealer-risk"
    src="$repo"; [ "$version" = base ] && src="$work/base"
    start=$(date +%s.%N)
    PYTHONPATH="$src" "$py" -c "import sys; sys.argv = ['dealer-risk', 'train', 'net', '--as-of', '2024-07-01', '--json']
from serve.cli.main import run; run()" >/dev/null 2>&1
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    times[$version]+="$seconds "
    printf '%s run %d: %.1f s\n' "$version" "$i" "$seconds"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | sed -n 2p; }
b=$(median "${times[base]}"); h=$(median "${times[head]}")
printf 'median: %s %.1f s, this tree %.1f s, ratio %.2fx\n' "$base" "$b" "$h" "$(echo "$b / $h" | bc -l)"
