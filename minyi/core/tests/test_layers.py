"""The layers contract (pyproject.toml [tool.importlinter]) holds for the tree, and it does
break the build when a module imports a higher layer."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contract() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _fake_house(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A package called minyi with every layer of the real contract, empty but for `modules`,
    checked against the real contract."""
    contract = _contract()
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    names = set()
    for layer in contract["contracts"][0]["layers"]:
        for part in layer.replace(":", "|").split("|"):
            names.add(part.strip().strip("()"))
    for name in names:
        package = tmp_path.joinpath(*name.split("."))
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
    (tmp_path / "minyi" / "__init__.py").touch()
    for name, text in modules.items():
        tmp_path.joinpath(*name.split(".")).with_suffix(".py").write_text(text)
    return tmp_path


def test_the_tree_keeps_the_layers():
    result = _lint(ROOT, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_upward_import_breaks_the_build(tmp_path):
    house = _fake_house(
        tmp_path,
        {
            "minyi.orgs.models": "X = 1\n",
            "minyi.core.helpers": "from minyi.orgs.models import X\n",
        },
    )
    result = _lint(house, house)
    assert result.returncode != 0
    assert "minyi.core is not allowed to import minyi.orgs" in result.stdout
    assert "minyi.core.helpers -> minyi.orgs.models" in result.stdout


def test_a_downward_import_is_allowed(tmp_path):
    house = _fake_house(
        tmp_path,
        {
            "minyi.core.helpers": "X = 1\n",
            "minyi.orgs.models": "from minyi.core.helpers import X\n",
            "minyi.workorders.services": "from minyi.perception import models\n",
        },
    )
    (house / "minyi" / "perception" / "models.py").write_text("")
    result = _lint(house, house)
    assert result.returncode == 0, result.stdout + result.stderr


def test_siblings_of_one_layer_may_not_import_each_other(tmp_path):
    house = _fake_house(
        tmp_path, {"minyi.opinions.services": "from minyi.workorders import services\n"}
    )
    (house / "minyi" / "workorders" / "services.py").write_text("")
    result = _lint(house, house)
    assert result.returncode != 0
    assert "minyi.opinions is not allowed to import minyi.workorders" in result.stdout
