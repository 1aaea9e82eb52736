"""The command line: exit codes, messages without tracebacks, settings from file and env."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serve.cli.main import app
from tests.cli import CLI, cli_env
from tests.features.conftest import DEALERS, ORDERS

runner = CliRunner()


def make_folder(root: Path, files: dict[str, str | bytes]) -> Path:
    data = root / "data"
    data.mkdir(exist_ok=True)
    for name, content in files.items():
        (data / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return data


def test_every_command_has_help():
    for command in ([], ["simulate"], ["validate"], ["features"], ["catalog"], ["demo"],
                    ["config"], ["config", "show"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_validate_clean_folder_exits_0_and_reports(workdir):
    data = make_folder(workdir, {"dealers.csv": DEALERS, "orders.csv": ORDERS})
    result = runner.invoke(app, ["validate", str(data), "--as-of", "2024-07-01"])
    assert result.exit_code == 0, result.output
    assert "No rows rejected." in result.output
    assert not (workdir / ".dealer-risk" / "rejects" / "orders.csv").exists()


def test_validate_with_rejects_exits_0_and_writes_them(workdir):
    orders = ORDERS + "O9,D1,2024-02-30,doors,1,10,10,completed\n"
    data = make_folder(workdir, {"dealers.csv": DEALERS, "orders.csv": orders})
    result = runner.invoke(app, ["validate", str(data), "--as-of", "2024-07-01", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tables"]["orders"]["rejected_by_reason"] == {"unparseable_date": 1}
    assert report["tables"]["orders"]["balanced"] is True
    assert report["total_rejected"] == 1
    assert (workdir / ".dealer-risk" / "rejects" / "orders.csv").is_file()


BROKEN = {
    "no folder": None,
    "empty folder": {},
    "no orders table": {"dealers.csv": DEALERS},
    "no dealers table": {"orders.csv": ORDERS},
    "0-byte orders": {"dealers.csv": DEALERS, "orders.csv": ""},
    "blank orders": {"dealers.csv": DEALERS, "orders.csv": "\n \n"},
    "header only": {"dealers.csv": DEALERS, "orders.csv": ORDERS.splitlines()[0]},
    "misspelled column": {"dealers.csv": DEALERS, "orders.csv": ORDERS.replace("quantity", "qty")},
    "all columns wrong": {"dealers.csv": DEALERS, "orders.csv": "a,b\n1,2\n"},
    "corrupt parquet": {"dealers.csv": DEALERS, "orders.parquet": b"PAR1garbagePAR1"},
    "0-byte parquet": {"dealers.csv": DEALERS, "orders.parquet": b""},
    "corrupt gzip": {"dealers.csv": DEALERS, "orders.csv.gz": b"\x1f\x8b garbage"},
    "empty gzip": {"dealers.csv": DEALERS, "orders.csv.gz": gzip.compress(b"")},
    "table twice": {"dealers.csv": DEALERS, "orders.csv": ORDERS, "orders.csv.gz":
                    gzip.compress(ORDERS.encode())},
    "binary garbage": {"dealers.csv": DEALERS, "orders.csv": bytes(range(256)) * 4},
    "conflicting dealers": {"dealers.csv": DEALERS + "D1,x,华东,A,2020-01-01,,,,\n",
                            "orders.csv": ORDERS},
    "duplicate columns": {"dealers.csv": DEALERS, "orders.csv": "ORDER_ID," + ORDERS},
    "dealers header only": {"dealers.csv": DEALERS.splitlines()[0], "orders.csv": ORDERS},
    "only a header line with no delimiter": {"dealers.csv": DEALERS, "orders.csv": "orders\n"},
    "a single unterminated quote": {"dealers.csv": DEALERS, "orders.csv": ORDERS + '"O9,D1\n'},
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_input_never_shows_a_traceback(workdir, case):
    files = BROKEN[case]
    data = workdir / "data" if files is None else make_folder(workdir, files)
    result = subprocess.run([*CLI, "validate", str(data), "--as-of", "2024-07-01"],
                            capture_output=True, text=True, cwd=workdir, env=cli_env())
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    if result.returncode == 2:
        assert result.stderr.startswith("error: "), result.stderr
        assert str(data) in result.stderr.replace("\n", "")
    else:  # a row-level problem only: exit 0 with the bad row in rejects
        assert result.returncode == 0, result.stderr
        assert "rejected" in result.stdout.lower()


def test_bad_as_of_is_a_clear_error(workdir):
    result = runner.invoke(app, ["validate", ".", "--as-of", "1 July"])
    assert result.exit_code == 2
    assert "'1 July' is not a date (expected YYYY-MM-DD)" in result.stderr


def test_config_show_prints_defaults(workdir):
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)
    assert values["work_dir"] == ".dealer-risk"
    assert values["contract"]["max_abs_quantity"] == 10000
    assert values["simulator"]["dealers"] == 2000


def test_settings_come_from_toml_and_env_wins(workdir, monkeypatch):
    (workdir / "dealer-risk.toml").write_text(
        'work_dir = "from-toml"\n[contract]\nmax_abs_quantity = 50\n', encoding="utf-8")
    values = json.loads(runner.invoke(app, ["config", "show", "--json"]).output)
    assert (values["work_dir"], values["contract"]["max_abs_quantity"]) == ("from-toml", 50)
    monkeypatch.setenv("DEALER_RISK_WORK_DIR", "from-env")
    monkeypatch.setenv("DEALER_RISK_CONTRACT__MAX_ABS_QUANTITY", "7")
    values = json.loads(runner.invoke(app, ["config", "show", "--json"]).output)
    assert (values["work_dir"], values["contract"]["max_abs_quantity"]) == ("from-env", 7)


def test_explicit_config_file(workdir):
    (workdir / "other.toml").write_text("[simulator]\nseed = 7\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", "other.toml", "config", "show", "--json"])
    assert json.loads(result.output)["simulator"]["seed"] == 7
    result = runner.invoke(app, ["--config", "missing.toml", "config", "show"])
    assert result.exit_code == 2
    assert "missing.toml: settings file not found" in result.stderr


def test_settings_affect_validation(workdir):
    (workdir / "dealer-risk.toml").write_text("[contract]\nmax_abs_quantity = 5\n")
    data = make_folder(workdir, {"dealers.csv": DEALERS, "orders.csv": ORDERS})
    report = json.loads(runner.invoke(app, ["validate", str(data), "--as-of", "2024-07-01",
                                            "--json"]).output)
    assert report["tables"]["orders"]["rejected_by_reason"] == {"absurd_quantity": 1}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("work_dir = [", "invalid settings"),
        ("[contract]\nmax_abs_quantity = -1\n", "max_abs_quantity"),
        ("unknown_key = 1\n", "unknown_key"),
        ("[simulator]\nstart = '2024/01'\n", "start must be YYYY-MM"),
    ],
)
def test_invalid_settings_are_a_clear_error(workdir, toml, message):
    (workdir / "dealer-risk.toml").write_text(toml, encoding="utf-8")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_uses_the_sample_data_by_default(workdir):
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert ".dealer-risk/sample-data: data folder does not exist" in result.stderr


def test_simulate_refuses_to_replace_an_unrelated_folder(workdir):
    (workdir / "mine").mkdir()
    (workdir / "mine" / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["simulate", "mine", "--dealers", "20", "--months", "12"])
    assert result.exit_code == 2
    assert "mine: folder exists and is not a simulated network" in result.stderr
    assert (workdir / "mine" / "notes.txt").read_text() == "keep me"


def test_demo_simulates_validates_builds_and_trains(workdir):
    from tests.serve.cli.test_cli_models import SMALL_MODELS

    (workdir / "dealer-risk.toml").write_text(SMALL_MODELS, encoding="utf-8")
    result = subprocess.run([*CLI, "demo", "--no-serve", "--dealers", "300", "--months", "30"],
                            capture_output=True, text=True, cwd=workdir, env=cli_env())
    assert result.returncode == 0, result.stderr
    assert "1. Simulate a sample dealer network" in result.stdout
    assert "2. Validate it against the data contract" in result.stdout
    assert "3. Build the point-in-time dealer x month panel" in result.stdout
    assert (workdir / ".dealer-risk" / "panel.parquet").is_file()
    assert "future_date" in result.stdout  # the sample's intended mess is caught
    assert (workdir / ".dealer-risk" / "sample-data" / "orders.parquet").is_file()
    assert (workdir / ".dealer-risk" / "rejects" / "orders.csv").is_file()
    assert "4. Train, backtest the newest origins, register and gate the models" in result.stdout
    assert "dealer-risk-churn" in result.stdout
    assert "5. Score every active dealer with the champion models" in result.stdout
    assert list((workdir / ".dealer-risk" / "snapshots").glob("*.parquet"))
    assert (workdir / ".dealer-risk" / "mlflow.db").is_file()
    shutil.rmtree(workdir / ".dealer-risk")


def test_features_writes_the_panel_and_refuses_bad_cutoffs(workdir):
    simulate = runner.invoke(app, ["simulate", "net", "--dealers", "40", "--months", "15"])
    assert simulate.exit_code == 0, simulate.output
    result = runner.invoke(app, ["features", "net", "--as-of", "2023-04-01", "--out", "p.parquet",
                                 "--cutoff", "2023-03-01", "--cutoff", "2023-02-01"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    panel = pd.read_parquet(workdir / "p.parquet")
    assert sorted(panel["cutoff"].dt.strftime("%Y-%m-%d").unique()) == ["2023-02-01",
                                                                         "2023-03-01"]
    assert "2 cutoffs" in result.output.replace("\n", " ")
    bad = runner.invoke(app, ["features", "net", "--as-of", "2023-04-01", "--cutoff",
                              "2023-03-15"])
    assert bad.exit_code == 2
    assert "cutoff 2023-03-15 is not the first day of a month" in bad.stderr


def test_catalog_lists_every_feature_in_both_languages(workdir):
    from features.catalog import CATALOG

    en = runner.invoke(app, ["catalog", "--markdown"])
    zh = runner.invoke(app, ["catalog", "--markdown", "--lang", "zh"])
    assert en.exit_code == zh.exit_code == 0
    assert all(f"`{f.name}`" in en.output for f in CATALOG)
    assert "近3个月订单额同比变化" in zh.output
    assert runner.invoke(app, ["catalog", "--lang", "fr"]).exit_code == 2


def test_the_settings_example_is_valid(workdir):
    import re

    doc = (Path(__file__).parents[3] / "docs" / "settings.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", doc, flags=re.DOTALL).group(1)
    (workdir / "example.toml").write_text(example, encoding="utf-8")
    result = runner.invoke(app, ["--config", "example.toml", "config", "show", "--json"])
    assert result.exit_code == 0, result.stderr
    values = json.loads(result.output)
    assert values["labels"]["decline"]["drop"] == 0.3
    assert values["panel"]["min_peer_group"] == 10
    assert values["api"]["keys_file"] == "/etc/dealer-risk/keys.json"


def test_validate_reads_a_folder_given_as_a_uri(workdir):
    """A lake's folder is named by a URI (s3://, gs://, abfs://, hdfs://); file:// takes
    the same path through pyarrow's file systems, so the CLI is tested on it."""
    orders = ORDERS + "O9,D1,2024-02-30,doors,1,10,10,completed\n"
    data = make_folder(workdir, {"dealers.csv": DEALERS, "orders.csv": orders})
    result = runner.invoke(app, ["validate", data.resolve().as_uri(), "--as-of", "2024-07-01",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["data_dir"] == data.resolve().as_uri()
    assert report["tables"]["orders"]["rejected_by_reason"] == {"unparseable_date": 1}
    assert report["tables"]["orders"]["file"] == (data / "orders.csv").resolve().as_uri()
    missing = runner.invoke(app, ["validate", (data / "nowhere").resolve().as_uri()])
    assert missing.exit_code == 2 and "data folder does not exist" in missing.stderr


@pytest.mark.parametrize("command", ["validate", "features", "train", "backtest", "score",
                                     "retrain", "monitor"])
def test_every_command_reading_data_takes_the_engine(workdir, command):
    result = runner.invoke(app, [command, ".", "--engine", "hadoop"])
    assert result.exit_code == 2
    assert "--engine must be duckdb or spark, got 'hadoop'" in result.stderr
