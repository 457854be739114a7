"""docs/configuration.md lists exactly the environment variables that settings.py reads.

Settings are the one place the environment is read; the doc is the one table an operator looks at. Both are
parsed (settings by its syntax tree, not by importing it), so a new ``env.int("X", ...)`` without a doc row, or a
row whose variable settings no longer read, fails here.
"""
import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = REPO / "anticounterfeit" / "settings.py"
DOC = REPO / "docs" / "configuration.md"
SETTINGS_SECTION = "## Read by settings"
ROW_NAME = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")


def settings_variables(source: str) -> set[str]:
    """Names passed to ``env(...)`` or ``env.<cast>(...)`` (str, bool, int, float, list, db, cache_url, ...)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        is_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env")
        first = node.args[0]
        if is_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def settings_table(doc: str) -> list[list[str]]:
    """The cells of each variable row in the doc's settings section (up to the next ``## `` heading)."""
    start = doc.index(SETTINGS_SECTION)
    end = doc.find("\n## ", start + len(SETTINGS_SECTION))
    section = doc[start:end if end != -1 else len(doc)]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if ROW_NAME.match(line.strip())]


def documented_variables(doc: str) -> set[str]:
    return {ROW_NAME.match("| " + row[0] + " |").group(1) for row in settings_table(doc)}


def test_parsers_find_what_they_should():
    source = 'A = env.int("X_INT", default=1)\nB = env("X_PLAIN")\nC = env.db("X_DB")\nD = other.str("NOT_ENV")\n'
    assert settings_variables(source) == {"X_INT", "X_PLAIN", "X_DB"}
    doc = f"{SETTINGS_SECTION}\n\n| name | type |\n|---|---|\n| `X_INT` | int |\n\n## Other\n\n| `NOT_IT` | str |\n"
    assert documented_variables(doc) == {"X_INT"}


def test_every_variable_settings_read_is_documented():
    missing = settings_variables(SETTINGS.read_text()) - documented_variables(DOC.read_text())
    assert not missing, f"settings.py reads {sorted(missing)}: add a row to docs/configuration.md ({SETTINGS_SECTION})"


def test_every_documented_variable_is_read_by_settings():
    stale = documented_variables(DOC.read_text()) - settings_variables(SETTINGS.read_text())
    assert not stale, f"docs/configuration.md lists {sorted(stale)}, which settings.py does not read"


def test_each_row_says_type_default_purpose_and_reader():
    rows = settings_table(DOC.read_text())
    incomplete = [row[0] for row in rows if len(row) != 5 or not all(row)]
    assert rows and not incomplete, f"rows without name, type, default, what it does and who reads it: {incomplete}"
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), "a variable is listed twice"


def test_settings_read_the_environment_only_through_django_environ():
    tree = ast.parse(SETTINGS.read_text())
    raw = [ast.unparse(node) for node in ast.walk(tree)
           if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
           and isinstance(node.value, ast.Name) and node.value.id == "os"]
    assert not raw, f"settings.py reads os.environ directly ({raw}): use env.<type>(NAME, default=...)"
