"""Problem.code is an enum of the codes the service really uses: every code raised in app/ is
in app/core/problem_codes.py, read from the source so that a new one cannot be forgotten."""

import ast
from pathlib import Path
from typing import get_args

from app.core import errors
from app.core.problem_codes import PROBLEM_CODES
from app.main import create_app
from app.rosters.parsing.rows import RosterFileErrorCode

APP = Path(__file__).resolve().parents[2] / "app"


def error_classes() -> set[type[errors.AppError]]:
    create_app  # noqa: B018 - importing app.main imports every domain's exceptions
    found: set[type[errors.AppError]] = set()
    pending = [errors.AppError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    return found


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def raised_codes(source: str, error_names: set[str]) -> set[str]:
    """The literal codes given to an AppError (`code=`), to invalid_field (its first argument)
    and to problem_response (its second)."""
    codes: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if name in error_names:
            codes |= {_literal(kw.value) for kw in node.keywords if kw.arg == "code"}
        elif name == "invalid_field" and node.args:
            codes.add(_literal(node.args[0]))
        elif name == "problem_response" and len(node.args) > 1:
            codes.add(_literal(node.args[1]))
    return {code for code in codes if code is not None}


def codes_in_app() -> dict[str, str]:
    classes = error_classes()
    names = {cls.__name__ for cls in classes}
    found = {cls.code: f"class {cls.__name__}" for cls in classes}
    found |= {code: "core/errors._HTTP_CODES" for code, _ in errors._HTTP_CODES.values()}
    found |= {code: "rosters/parsing/rows.py" for code in get_args(RosterFileErrorCode)}
    for path in sorted(APP.rglob("*.py")):
        for code in raised_codes(path.read_text(), names):
            found.setdefault(code, str(path.relative_to(APP)))
    return found


def test_every_code_the_service_raises_is_in_the_enum() -> None:
    codes = codes_in_app()
    assert len(codes) > 80
    missing = {code: where for code, where in codes.items() if code not in PROBLEM_CODES}
    assert missing == {}


def test_the_scan_finds_a_code_in_each_way_it_is_raised() -> None:
    source = (
        "raise NotFound('No such cohort', code='cohort_gone')\n"
        "invalid_field('wage_too_low', 'Too low', ['body', 'declared_wage'])\n"
        "return problem_response(422, 'roster_refused', 'Refused', 'No')\n"
        "Column('nik', code='not_an_error')\n"
    )
    assert raised_codes(source, {"NotFound"}) == {"cohort_gone", "wage_too_low", "roster_refused"}


def test_the_enum_lists_each_code_once() -> None:
    assert len(PROBLEM_CODES) == len(set(PROBLEM_CODES))


def test_the_enum_holds_no_code_the_service_never_answers() -> None:
    # http_error: the fallback for a status core/errors.py has no code for; rate_limited: the
    # per-key rate limiter's 429 (issue 14), documented on every authenticated operation.
    unused = set(PROBLEM_CODES) - set(codes_in_app()) - {"http_error", "rate_limited"}
    assert unused == set()
