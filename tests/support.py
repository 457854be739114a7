"""Plain helpers shared by test modules (not tests, not fixtures): paths and polling.

Test modules import from here, never from each other or from a conftest.
"""
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKEBENCH = REPO.parent / "shared" / "fakebench"
ARTIFACTS = REPO / "tests" / "artifacts"


def wait_for(predicate, timeout: float = 120, interval: float = 0.3, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned), or fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
