"""The repository's set-up files agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(spec: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", spec)
    name = m.group(1).lower().replace("_", "-")
    return name, m.group(3).replace(" ", "")


def _pyproject_requirements():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for extra in ("course", "test"):
        specs += meta["optional-dependencies"][extra]
    reqs = dict(_split(s) for s in specs)
    reqs.pop("adaptive-lr")  # the extras refer to each other
    return reqs


def _environment_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    reqs = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for spec in items:
            if spec.startswith("-e "):
                continue
            name, version = _split(spec)
            if name in ("python", "pip"):
                continue
            reqs[name] = version
    return reqs


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    py, env = _pyproject_requirements(), _environment_requirements()
    assert sorted(py) == sorted(env), (
        f"only in pyproject.toml: {sorted(set(py) - set(env))}; "
        f"only in environment.yml: {sorted(set(env) - set(py))}"
    )
    for name in py:
        assert py[name] == env[name], f"{name}: pyproject says {py[name]!r}, environment.yml {env[name]!r}"


def test_environment_yml_installs_the_project_itself():
    assert "-e . --no-deps" in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    first_commands = readme[: readme.find("##", readme.find("##") + 2)]
    assert "make demo" in first_commands and "make test" in first_commands


def test_torch_is_pinned_to_the_local_cpu_build():
    # An unpinned torch would pull a multi-GB CUDA build on CI.
    assert _pyproject_requirements()["torch"] == "==2.13.0"
