"""The project's own shape, checked: test modules share helpers through factories, flows and
fixtures, never by importing one another; no module in src/ grows past 600 lines; and the
architecture guide's map of where things live is true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SRC = ROOT / "src"
MAX_LINES = 600


def _is_test_module(dotted: str) -> bool:
    """`tests.x.test_y` names a test module when tests/x/test_y.py is one."""
    parts = dotted.split(".")
    if not parts[-1].startswith("test_"):
        return False
    return ROOT.joinpath(*parts).with_suffix(".py").is_file()


def _package_of(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).parent.parts)


def imported_test_modules(path: Path, source: str | None = None) -> list[str]:
    """The test modules that the module at `path` imports, wherever the import statement is
    (`import tests.a.test_b`, `from tests.a.test_b import c`, `from tests.a import test_b`,
    `from .test_b import c`)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(path)[: len(_package_of(path)) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if _is_test_module(module):
                found.append(module)
            found += [
                f"{module}.{alias.name}"
                for alias in node.names
                if _is_test_module(f"{module}.{alias.name}")
            ]
    return found


def test_no_module_in_the_tests_imports_a_test_module():
    offenders = {
        str(path.relative_to(ROOT)): imported
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}, (
        "Shared test helpers belong in tests/<app>/factories.py, tests/browser/flows.py or a "
        f"conftest.py fixture, not in a test module: {offenders}"
    )


def test_the_import_check_sees_every_way_of_importing_a_test_module():
    here = TESTS / "challenges" / "conftest.py"
    catalogue = "tests.challenges.test_catalogue"
    assert (TESTS / "challenges" / "test_catalogue.py").is_file()
    for source in (
        "from tests.challenges.test_catalogue import definition",
        "import tests.challenges.test_catalogue",
        "from tests.challenges import test_catalogue",
        "from .test_catalogue import definition",
        "from . import test_catalogue",
        "def helper():\n    from tests.challenges.test_catalogue import definition\n",
    ):
        assert imported_test_modules(here, source) == [catalogue], source
    for source in (
        "from tests.challenges.factories import definition",
        "from tests.conftest import PASSWORD",
        "from tests.challenges import conftest",
    ):
        assert imported_test_modules(here, source) == [], source


def test_no_module_in_src_is_longer_than_600_lines():
    too_long = {
        name: lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and (name := path.relative_to(ROOT).as_posix())
    }
    assert too_long == {}, f"Past {MAX_LINES} lines a concept wants its own module: {too_long}"


def test_the_architecture_guide_names_files_and_functions_that_exist():
    """docs/architecture.md's table of where behaviours live stays true as the code moves: every
    path it names exists, and every function named after a path is defined there."""
    guide = (ROOT / "docs" / "architecture.md").read_text()
    table = guide.split("## Where the everyday behaviours live", 1)[1].split("\n## ", 1)[0]
    wrong = []
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    for row in rows:
        where = row.split("|")[2]
        path = None
        for name in re.findall(r"`([^`]+)`", where):
            if "/" in name:
                path = SRC / "propdesk" / name
                if "<" not in name and not path.exists():
                    wrong.append(name)
            elif path is not None and path.suffix == ".py" and path.exists():
                source = path.read_text()
                wrong += [
                    f"{path.name}: {function}"
                    for function in (part.strip() for part in name.split("/"))
                    if not re.search(rf"^def {re.escape(function)}\b", source, re.MULTILINE)
                ]
    assert len(rows) >= 10
    assert wrong == []
