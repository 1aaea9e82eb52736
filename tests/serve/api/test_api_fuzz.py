"""Schemathesis, the standard OpenAPI fuzzer, against the real app: for every operation of
the published schema, generated requests (valid and not) with a reader key and without
one. No answer may be a server error, and every JSON answer must match the schema's
documented response for its status.

Schemathesis' own pytest plugin does not run under this pytest, so its Hypothesis
strategies are driven directly; the examples per operation are bounded to keep the suite
short (raise FUZZ_EXAMPLES locally for a longer hunt)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from serve.app import create_app
from tests.serve.conftest import READER

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def api(served):
    settings_, _, _ = served
    app = create_app(settings_)
    with TestClient(app):  # the lifespan loads the served state
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def fuzz(op, headers: dict, failures: list[str]) -> None:
    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])
        except Exception as exc:  # noqa: BLE001 (collect every failure, then report)
            failures.append(f"{op.label} {case.path_parameters} {case.query}: "
                            f"{response.status_code} {type(exc).__name__}: "
                            f"{str(exc)[:300]}")

    check()


@pytest.mark.parametrize("headers", [READER, {}], ids=["reader key", "no key"])
def test_no_operation_answers_with_a_server_error_or_off_schema(api, headers):
    failures = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8
    for op in operations:
        fuzz(op, headers, failures)
    assert not failures, "\n".join(failures[:10])
