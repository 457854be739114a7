"""The test suite's own rules: test modules share code through support modules and fixtures, never by importing
another test module or a conftest (pytest loads those itself; importing them runs their hooks twice and ties one
test's edits to another's)."""
import ast
from pathlib import Path

import pytest
import redis

TESTS = Path(__file__).resolve().parents[1]


def _imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.append(base)
            if not node.module:  # "from . import test_x"
                names += [base + alias.name for alias in node.names]
    return names


def forbidden_imports(source: str) -> list[str]:
    """The modules ``source`` imports whose last name is a test module (test_*) or a conftest."""
    return [name for name in _imported_modules(ast.parse(source))
            if (last := name.rsplit(".", 1)[-1]).startswith("test_") or last == "conftest"]


def test_the_rule_sees_every_way_of_importing_a_test_module():
    assert forbidden_imports("from tests.unit.test_small_logo import BRANDS") == ["tests.unit.test_small_logo"]
    assert forbidden_imports("from .test_fuzz_api import json_values") == [".test_fuzz_api"]
    assert forbidden_imports("from .conftest import login\nimport tests.conftest") == [".conftest", "tests.conftest"]
    assert forbidden_imports("from . import test_flow") == [".test_flow"]
    assert forbidden_imports("from tests.support import wait_for\nfrom .procs import stop") == []


def test_no_test_module_imports_another_or_a_conftest():
    offenders = {str(path.relative_to(TESTS)): found for path in sorted(TESTS.rglob("test_*.py"))
                 if (found := forbidden_imports(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_a_unit_test_cannot_reach_redis():
    with pytest.raises(AssertionError, match="connected to Redis"):
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()


def test_a_unit_test_cannot_reach_the_database():
    from django.db import connection

    with pytest.raises(RuntimeError, match="Database access not allowed"):
        connection.cursor()
