"""docs/security.md holds: every test it names exists, every ASVS 5.0 Level 1 and 2
requirement has a row, and the dependency audit is wired in strictly."""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

from shuttle.settings import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "security.md"
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
# ASVS 5.0.0: the 70 Level 1 and 183 Level 2 requirements (Level 2 includes Level 1).
_IDS = """
    V1.1.1 V1.1.2 V1.2.1 V1.2.2 V1.2.3 V1.2.4 V1.2.5 V1.2.6 V1.2.7 V1.2.8 V1.2.9 V1.3.1
    V1.3.2 V1.3.3 V1.3.4 V1.3.5 V1.3.6 V1.3.7 V1.3.8 V1.3.9 V1.3.10 V1.3.11 V1.4.1 V1.4.2
    V1.4.3 V1.5.1 V1.5.2 V2.1.1 V2.1.2 V2.1.3 V2.2.1 V2.2.2 V2.2.3 V2.3.1 V2.3.2 V2.3.3
    V2.3.4 V2.4.1 V3.2.1 V3.2.2 V3.3.1 V3.3.2 V3.3.3 V3.3.4 V3.4.1 V3.4.2 V3.4.3 V3.4.4
    V3.4.5 V3.4.6 V3.5.1 V3.5.2 V3.5.3 V3.5.4 V3.5.5 V3.7.1 V3.7.2 V4.1.1 V4.1.2 V4.1.3
    V4.2.1 V4.3.1 V4.3.2 V4.4.1 V4.4.2 V4.4.3 V4.4.4 V5.1.1 V5.2.1 V5.2.2 V5.2.3 V5.3.1
    V5.3.2 V5.4.1 V5.4.2 V5.4.3 V6.1.1 V6.1.2 V6.1.3 V6.2.1 V6.2.2 V6.2.3 V6.2.4 V6.2.5
    V6.2.6 V6.2.7 V6.2.8 V6.2.9 V6.2.10 V6.2.11 V6.2.12 V6.3.1 V6.3.2 V6.3.3 V6.3.4 V6.4.1
    V6.4.2 V6.4.3 V6.4.4 V6.5.1 V6.5.2 V6.5.3 V6.5.4 V6.5.5 V6.6.1 V6.6.2 V6.6.3 V6.8.1
    V6.8.2 V6.8.3 V6.8.4 V7.1.1 V7.1.2 V7.1.3 V7.2.1 V7.2.2 V7.2.3 V7.2.4 V7.3.1 V7.3.2
    V7.4.1 V7.4.2 V7.4.3 V7.4.4 V7.4.5 V7.5.1 V7.5.2 V7.6.1 V7.6.2 V8.1.1 V8.1.2 V8.2.1
    V8.2.2 V8.2.3 V8.3.1 V8.4.1 V9.1.1 V9.1.2 V9.1.3 V9.2.1 V9.2.2 V9.2.3 V9.2.4 V10.1.1
    V10.1.2 V10.2.1 V10.2.2 V10.3.1 V10.3.2 V10.3.3 V10.3.4 V10.4.1 V10.4.2 V10.4.3 V10.4.4
    V10.4.5 V10.4.6 V10.4.7 V10.4.8 V10.4.9 V10.4.10 V10.4.11 V10.5.1 V10.5.2 V10.5.3
    V10.5.4 V10.5.5 V10.6.1 V10.6.2 V10.7.1 V10.7.2 V10.7.3 V11.1.1 V11.1.2 V11.2.1 V11.2.2
    V11.2.3 V11.3.1 V11.3.2 V11.3.3 V11.4.1 V11.4.2 V11.4.3 V11.4.4 V11.5.1 V11.6.1 V12.1.1
    V12.1.2 V12.1.3 V12.2.1 V12.2.2 V12.3.1 V12.3.2 V12.3.3 V12.3.4 V13.1.1 V13.2.1 V13.2.2
    V13.2.3 V13.2.4 V13.2.5 V13.3.1 V13.3.2 V13.4.1 V13.4.2 V13.4.3 V13.4.4 V13.4.5 V14.1.1
    V14.1.2 V14.2.1 V14.2.2 V14.2.3 V14.2.4 V14.3.1 V14.3.2 V14.3.3 V15.1.1 V15.1.2 V15.1.3
    V15.2.1 V15.2.2 V15.2.3 V15.3.1 V15.3.2 V15.3.3 V15.3.4 V15.3.5 V15.3.6 V15.3.7 V16.1.1
    V16.2.1 V16.2.2 V16.2.3 V16.2.4 V16.2.5 V16.3.1 V16.3.2 V16.3.3 V16.3.4 V16.4.1 V16.4.2
    V16.4.3 V16.5.1 V16.5.2 V16.5.3 V17.1.1 V17.2.1 V17.2.2 V17.2.3 V17.2.4 V17.3.1 V17.3.2
"""
LEVEL_1_AND_2 = _IDS.split()


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_named_in_the_security_page_exists() -> None:
    """Each `tests/...py::test_name` in docs/security.md is a test function in that file."""
    references = TEST_REFERENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(references) > 100
    missing = []
    for file, name in sorted(set(references)):
        path = PROJECT_ROOT / file
        if not path.is_file() or name not in _test_functions(path):
            missing.append(f"{file}::{name}")
    assert not missing, "named in docs/security.md but not found:\n" + "\n".join(missing)


def test_every_level_2_requirement_has_a_row() -> None:
    """No ASVS Level 1 or 2 requirement is left out, and none is listed twice."""
    assert len(LEVEL_1_AND_2) == len(set(LEVEL_1_AND_2)) == 253
    rows = re.findall(r"^\| (V\d+\.\d+\.\d+) \|", PAGE.read_text(encoding="utf-8"), re.M)
    assert len(rows) == len(set(rows)), "a requirement has two rows"
    assert sorted(set(LEVEL_1_AND_2) - set(rows)) == []
    assert sorted(set(rows) - set(LEVEL_1_AND_2)) == []


def test_every_row_says_how_or_why_not() -> None:
    """No row leaves the third column empty."""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\| V\d+\.\d+\.\d+ \|", line):
            assert line.split("|")[3].strip(), line


def test_dependency_audit_is_wired_and_never_passes_silently() -> None:
    """scripts/test-all runs scripts/audit-dependencies on the lock file, which fails on a
    known vulnerability and never reports "no known vulnerabilities" for a package it could
    not check."""
    assert "scripts/audit-dependencies" in (PROJECT_ROOT / "scripts/test-all").read_text()
    assert "scripts/audit-dependencies" in (PROJECT_ROOT / "Makefile").read_text()
    outcome = runpy.run_path(str(PROJECT_ROOT / "scripts/audit-dependencies"))["outcome"]
    ok = {"name": "aiohttp", "version": "3.14.5", "vulns": []}
    bad = {"name": "jinja2", "version": "2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": []}]}
    unknown = {"name": "alembic", "version": "1.0", "skip_reason": "Dependency not found"}
    assert outcome({"dependencies": [ok]})[0] == 0
    assert outcome({"dependencies": [ok, bad]})[0] == 1
    assert outcome({"dependencies": [ok, unknown]})[0] == 3
    assert outcome({"dependencies": [bad, unknown]})[0] == 1
    assert outcome({"dependencies": []})[0] == 3
    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9._-]+==[^\s]+", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    assert {"aiohttp", "cryptography", "sqlalchemy", "jinja2", "pip-audit"} <= names
