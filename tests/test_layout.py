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
