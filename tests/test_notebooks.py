"""The notebooks run top to bottom on a tiny simulated network (so they never rot), and are
committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01_explore_dealers.ipynb",
                                           "02_train_and_compare.ipynb",
                                           "03_explain_a_dealer.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing (Kernel > Restart & Clear)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, tmp_path, monkeypatch):
    for key, value in {"DEALER_RISK_NB_DEALERS": "250", "DEALER_RISK_NB_MONTHS": "32",
                       "DEALER_RISK_NB_SEED": "3", "DEALER_RISK_NB_FAST": "1",
                       "DEALER_RISK_NB_WORK": str(tmp_path / "work"),
                       # the loader leaves the orders file on disk, as with large data
                       "DEALER_RISK_CONTRACT__STREAM_ORDER_LINES": "0",
                       "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DEALER_RISK_NB_DATA", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(FOLDER)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    assert os.listdir(tmp_path / "work")
