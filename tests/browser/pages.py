"""Plain helpers for the browser tests: log in through the form, run axe-core on a page."""
import pytest

from tests.support import REPO


def login(page, base_url: str, username: str, password: str = "pw-123456") -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # WCAG 2.0 and 2.1, levels A and AA


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now (axe injected from the npm package)."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: ./run test installs it (npm ci, package-lock.json)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                           AXE_TAGS)
    return result["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)")
        for node in v["nodes"][:3]:
            lines.append(f"    {' '.join(node['target'][:1])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)
