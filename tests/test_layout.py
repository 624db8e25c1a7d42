"""The package layout holds itself: no import cycle in io/documents, the layering contracts."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import heard

PACKAGE = Path(heard.__file__).resolve().parent
DOCUMENTS = PACKAGE / "io" / "documents"


def _heard_imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports, at any depth (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith(package):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                found.add(sub if is_module else node.module)
    return found


def test_documents_types_is_a_leaf() -> None:
    assert _heard_imports(DOCUMENTS / "types.py", "heard") == set()


def test_documents_modules_have_no_import_cycle() -> None:
    prefix = "heard.io.documents"
    graph = {
        f"{prefix}.{path.stem}": {m for m in _heard_imports(path, prefix) if m != prefix}
        for path in DOCUMENTS.glob("*.py") if path.stem != "__init__"
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    cycles = sorted(module for module in graph if reaches(module, module, {module}))
    assert cycles == [], f"modules on an import cycle: {cycles}"


@pytest.mark.parametrize("module", sorted(
    p.stem for p in DOCUMENTS.glob("*.py") if p.stem != "__init__"))
def test_each_documents_module_imports_first(module: str) -> None:
    """Importing any module of the package on its own, in a fresh interpreter, works."""
    done = subprocess.run([sys.executable, "-c", f"import heard.io.documents.{module}"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


ROOT = Path(__file__).resolve().parents[1]


def test_layering_contracts_hold(capsys, monkeypatch) -> None:
    """The import-linter contracts in pyproject.toml: a breach fails `make test` too."""
    try:
        from importlinter.cli import lint_imports
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))  # lint_imports prepends the cwd
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                        no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out and "BROKEN" not in out


TESTS = Path(__file__).resolve().parent
_CLOCKS = {"perf_counter", "time", "monotonic", "perf_counter_ns", "monotonic_ns"}


def _is_clock_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in _CLOCKS and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "time")


def test_no_wall_clock_asserts_in_tests() -> None:
    """Elapsed time is measured in benchmarks/, never asserted by a test."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        timed: set[str] = set()  # names assigned from a clock reading
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                    _is_clock_call(n) or (isinstance(n, ast.Name) and n.id in timed)
                    for n in ast.walk(node.value)):
                timed.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and any(
                    _is_clock_call(n) or (isinstance(n, ast.Name) and n.id in timed)
                    for n in ast.walk(node.test)):
                found.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert found == [], f"wall-clock asserts: {found}"


def _marked_quality(decorators: list[ast.expr]) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "quality"
               for d in decorators for n in ast.walk(d))


def test_quality_floors_never_skip_themselves() -> None:
    """A floor fails rather than skips on an error or a slow machine; only a missing shared
    data set skips it (through tests.conftest.shared_dataset, which names the reason)."""
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marked = any(
            isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
            and _marked_quality([node.value]) for node in tree.body)
        helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        for name, func in helpers.items():
            if not name.startswith("test_") or not (module_marked
                                                     or _marked_quality(func.decorator_list)):
                continue
            called = {n.func.id for n in ast.walk(func)
                      if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            bodies = [func, *(helpers[c] for c in called if c in helpers)]
            for body in bodies:
                for node in ast.walk(body):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr in {"skip", "importorskip", "xfail"}):
                        found.append(f"{path.relative_to(TESTS)}:{node.lineno} ({name})")
    assert found == [], f"quality floors that can skip themselves: {found}"
