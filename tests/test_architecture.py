"""The layering the layout promises, enforced: who may import experta, click, YAML and the tests' helpers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cramp_expert"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _owner(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _users(prefix: str) -> set[str]:
    return {
        _owner(p)
        for p in MODULES
        if any(i == prefix or i.startswith(prefix + ".") for i in _imports(p))
    }


def test_only_compile_and_engine_import_experta():
    assert {m.rsplit(".", 1)[0] for m in _users("experta")} <= {
        "cramp_expert.compile",
        "cramp_expert.engine",
    }


def test_only_the_cli_imports_click():
    assert _users("click") <= {"cramp_expert.cli"}


def test_only_the_source_reader_parses_yaml():
    assert _users("yaml") <= {"cramp_expert.source"}


def test_runtime_code_never_imports_the_testing_helpers():
    assert {
        m for m in _users("cramp_expert.testing") if not m.startswith("cramp_expert.testing")
    } == set()


@pytest.mark.parametrize("path", MODULES, ids=[_owner(p) for p in MODULES])
def test_nothing_is_evaluated_and_yaml_is_only_loaded_safely(path):
    text = path.read_text()
    for forbidden in (
        "eval(",
        "exec(",
        "yaml.load(",
        "yaml.unsafe_load",
        "FullLoader",
        "UnsafeLoader",
        "pickle",
    ):
        assert forbidden not in text, f"{path.name} uses {forbidden}"


def test_importing_the_package_does_not_turn_on_logging_output():
    # experta calls logging.basicConfig() on import; in a fresh interpreter that would install a
    # stderr handler on the root logger (pytest's own handlers would hide it here).
    code = "import logging, cramp_expert.api; print([type(h).__name__ for h in logging.getLogger().handlers])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['NullHandler']"


def _outside(prefix: str, *allowed: str) -> set[str]:
    """Modules using `prefix` other than its own and those under the `allowed` prefixes."""
    return {
        m
        for m in _users(prefix)
        if not m.startswith(prefix) and not any(m.startswith(a) for a in allowed)
    }


def test_only_the_cli_uses_the_authors_toolkit():
    # The toolkit sits above the library API: the runtime never depends on it. The verifier
    # (kb check runs kb validate first) and the testing helpers are tools above it too; the
    # command line's shell is cli.py (parsing) and commands.py (what each command does).
    assert _outside("cramp_expert.authoring", "cramp_expert.verify", "cramp_expert.testing") <= {
        "cramp_expert.cli",
        "cramp_expert.commands",
    }


def test_only_the_cli_and_the_testing_helpers_use_the_verifier():
    assert _outside("cramp_expert.verify", "cramp_expert.testing") <= {
        "cramp_expert.cli",
        "cramp_expert.commands",
    }


def test_the_verifier_runs_the_engine_through_the_engine_package_never_experta():
    assert {m for m in _users("experta") if m.startswith("cramp_expert.verify")} == set()


def test_the_authors_toolkit_reads_the_knowledge_base_without_compiling_it():
    # Only `kb diff` consults patients (through the API); validating, listing, documenting,
    # drawing and the schemas never load the engine, which keeps them fast.
    engine = ("experta", "cramp_expert.api", "cramp_expert.engine", "cramp_expert.compile")
    users = set().union(*(_users(prefix) for prefix in engine))
    toolkit = {m for m in users if m.startswith("cramp_expert.authoring")}
    assert toolkit <= {"cramp_expert.authoring.diff"}


def test_the_cli_only_parses_and_prints():
    # Everything a command does is in cramp_expert.commands; cli.py imports click, that
    # module and the error types at run time (other imports are for type annotations only),
    # and types no core object as Any.
    path = PACKAGE / "cli.py"
    tree = ast.parse(path.read_text())
    typing_only: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {
                alias.name if isinstance(sub, ast.Import) else sub.module or ""
                for sub in node.body
                if isinstance(sub, ast.Import | ast.ImportFrom)
                for alias in sub.names
            }
    runtime = {
        name
        for name in _imports(path) - typing_only
        if name.startswith("cramp_expert") or name == "click"
    }
    assert runtime <= {"click", "cramp_expert", "cramp_expert.commands", "cramp_expert.errors"}
    assert "Any" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
