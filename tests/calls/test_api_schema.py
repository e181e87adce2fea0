"""The calls API in the OpenAPI schema: generated without warnings, and real responses match it."""

import copy
import datetime as dt
import json

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from rest_framework.test import APIClient

from manifattura.calls.enums import CallKind, QuestionKind, SelectionMode
from manifattura.calls.models import Question
from tests.calls.factories import PDF_BYTES, build_call, ready_application
from tests.calls.test_api import T_CLOSE, T_OPEN, api, move_clock
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_schema_documents_the_calls_api_without_warnings(tmp_path, capsys):
    reset_generator_stats()
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "Warning" not in capsys.readouterr().err
    text = target.read_text()
    for path in ("/api/v1/calls/{code}/publish/", "/api/v1/calls/{code}/extend-deadline/",
                 "/api/v1/applications/{id}/submit/", "/api/v1/applications/{id}/answers/",
                 "/api/v1/applications/{id}/declarations/", "/api/v1/applications/{id}/files/",
                 "/api/v1/applications/{id}/files/{file_id}/", "/api/v1/applications/{id}/receipt/",
                 "/api/v1/applications/{id}/withdraw/"):
        assert f"  {path}:" in text, path
    assert "Idempotency-Key" in text


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def strict(node):
    """OpenAPI 3.0 → JSON Schema where objects refuse undocumented properties (``nullable`` → null type)."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(schema, component, data):
    document = {"components": strict(copy.deepcopy(schema["components"]))}
    validator = jsonschema.Draft7Validator({**document, "$ref": f"#/components/schemas/{component}"})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


def test_real_responses_match_their_documented_schema(schema, db):
    staff = UserFactory(is_staff=True)
    move_clock(T_OPEN - dt.timedelta(days=2))
    merit = build_call(code="MM-2026-01", opens_at=T_OPEN, closes_at=T_CLOSE, with_file=True)
    first_come = build_call(code="MM-2026-02", kind=CallKind.GRANT, mode=SelectionMode.FIRST_COME,
                            opens_at=T_OPEN, closes_at=T_CLOSE)
    build_call(code="MM-2026-03", opens_at=T_OPEN, closes_at=T_CLOSE, publish=False)
    move_clock(T_OPEN + dt.timedelta(hours=1))
    application, user = ready_application(merit)
    client = api(user)
    app = f"/api/v1/applications/{application.pk}"
    checks = []

    checks.append(("Call", api().get(f"/api/v1/calls/{merit.code}/")))
    checks.append(("PaginatedCallList", api(staff).get("/api/v1/calls/")))
    title = Question.objects.get(section__call=merit, kind=QuestionKind.SHORT_TEXT)
    checks.append(("AnswersResult", client.patch(f"{app}/answers/", {str(title.pk): "x" * 300}, format="json")))
    checks.append(("SubmissionRefused", client.post(f"{app}/submit/")))
    client.patch(f"{app}/answers/", {str(title.pk): "Fab lab"}, format="json")
    pdf_question = Question.objects.get(section__call=merit, kind=QuestionKind.FILE)
    checks.append(("ApplicationFile", client.post(
        f"{app}/files/", {"question": pdf_question.pk, "file": SimpleUploadedFile("b.pdf", PDF_BYTES)},
        format="multipart")))
    checks.append(("Receipt", client.post(f"{app}/submit/", HTTP_IDEMPOTENCY_KEY="schema")))
    checks.append(("Receipt", client.get(f"{app}/receipt/")))
    checks.append(("ApplicationDetail", client.post(f"{app}/withdraw/", {"reason": "x"}, format="json")))
    client.post(f"{app}/submit/")
    checks.append(("ApplicationDetail", client.get(f"{app}/")))
    checks.append(("PaginatedApplicationList", client.get("/api/v1/applications/")))
    grant, grant_user = ready_application(first_come)
    checks.append(("Receipt", api(grant_user).post(f"/api/v1/applications/{grant.pk}/submit/")))
    checks.append(("Call", api().get(f"/api/v1/calls/{first_come.code}/")))
    newcomer = MembershipFactory()
    checks.append(("ApplicationDetail", api(newcomer.user).post(
        "/api/v1/applications/", {"call": merit.code, "organization": newcomer.organization_id}, format="json")))
    checks.append(("Call", api(staff).post("/api/v1/calls/", {
        "code": "MM-2026-04", "kind": "space", "title": "T", "summary": "S"}, format="json")))
    checks.append(("Problems", api(staff).post("/api/v1/calls/MM-2026-04/publish/")))
    checks.append(("Call", api(staff).post("/api/v1/calls/MM-2026-03/publish/")))
    checks.append(("Call", api(staff).post(f"/api/v1/calls/{merit.code}/extend-deadline/", {
        "closes_at": (T_CLOSE + dt.timedelta(days=1)).isoformat(), "reason": "Outage"}, format="json")))

    for component, response in checks:
        expected = 400 if component == "Problems" else 422 if component == "SubmissionRefused" else None
        assert response.status_code == expected if expected else response.status_code in (200, 201), component
        body = json.loads(response.content)
        assert_matches(schema, component, body)
    resources = json.loads(api().get(f"/api/v1/calls/{first_come.code}/").content)["resources"]
    assert resources["kind"] == "budget"
