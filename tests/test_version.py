"""The package's version comes from git tags (setuptools-scm), and the models registered
in MLflow require exactly the installed build."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

from models.tracking import _requirements

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_the_nearest_tag_or_after_it():
    installed = Version(version("dealer-risk"))
    tag = subprocess.run(["git", "describe", "--tags", "--abbrev=0", "--match", "v*"],
                         capture_output=True, text=True, cwd=ROOT).stdout.strip()
    if tag:  # a clone with its tags (CI's is); an archive without git falls back
        assert installed >= Version(tag.removeprefix("v")), (installed, tag)
    assert str(installed) != "0.1.0"  # the static version every build carried before


def test_a_registered_model_requires_the_installed_build():
    assert f"dealer-risk=={version('dealer-risk')}" in _requirements()
