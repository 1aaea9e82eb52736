"""The lock files `./run` installs from (requirements.lock, requirements-dev.lock) hold every
dependency pyproject.toml declares, at a version its range allows, each with hashes: a
dependency added to pyproject.toml without refreshing the locks (docs/development.md)
would not be installed (`./run` installs the project itself with --no-deps)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def pins(lock: str) -> dict[str, str]:
    """Package -> pinned version; fails on a pin without a hash."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = PIN.match(block)
        if m:
            assert "--hash=sha256:" in block, f"{lock}: {m.group(0)} has no hash"
            out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(r) for r in names]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()),
                                              ("requirements-dev.lock", ("dev", "spark"))])
def test_the_lock_pins_every_declared_dependency_within_its_range(lock, extras):
    pinned = pins(lock)
    for req in declared(*extras):
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock} lacks {req}: refresh the locks (docs/development.md)"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside pyproject.toml's {req}")


def test_the_demo_runs_the_versions_the_tests_ran():
    dev, main = pins("requirements-dev.lock"), pins("requirements.lock")
    assert set(main) <= set(dev)
    assert {n: v for n, v in main.items() if dev[n] != v} == {}


def test_the_installer_is_locked_too():
    """`./run` installs uv from its own lock before the project's: one pinned version,
    with hashes, as the locks it installs."""
    assert list(pins("requirements-uv.lock")) == ["uv"]
    run = (ROOT / "run").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-uv.lock" in run
