"""The staff area for calls: drafts are edited through the domain, published rules are read-only,
applications and submissions can only be looked at."""

import pytest
from django.urls import reverse

from manifattura.calls.enums import CallStatus
from manifattura.calls.models import Application, Call, Criterion, Submission
from manifattura.core.models import ActionLog
from tests.calls.factories import build_call, ready_application
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    # Programme staff without Django model permissions: the rules decide.
    client.force_login(UserFactory(email="office@example.org", is_staff=True))
    return client


def _call_form(**overrides):
    data = {
        "code": "MM-2027-05", "title": "Workshops in Bovisa", "kind": "space", "selection_mode": "merit",
        "summary": "Workshops for makers.", "body": "", "contact_email": "", "contact_phone": "",
        "opens_at_0": "", "opens_at_1": "", "closes_at_0": "", "closes_at_1": "",
        "grant_budget": "", "grant_max_per_application": "", "cofinancing_share": "",
        "allowed_organization_kinds": ["startup", "artisan"], "max_organization_age_years": "5",
        "require_valid_vat": "on", "seat_requirement": "city", "one_per_organization": "on",
        "rubric_total": "100", "min_total_score": "60",
    }
    for prefix in ("sections", "criteria", "declarations", "documents", "extensions"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(overrides)
    return data


def _prefixes(response):
    return [formset.formset.prefix for formset in response.context["inline_admin_formsets"]]


def test_staff_add_a_call_through_the_domain(staff_client):
    add = staff_client.get(reverse("admin:calls_call_add"))
    assert add.status_code == 200
    data = _call_form()
    for prefix in _prefixes(add):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = staff_client.post(reverse("admin:calls_call_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    call = Call.objects.get(code="MM-2027-05")
    assert call.allowed_organization_kinds == ["startup", "artisan"]
    assert call.status == CallStatus.DRAFT
    assert ActionLog.objects.filter(verb="call.create", object_id=str(call.pk)).exists()
    assert call.protocol_counter.last_number == 0  # created by the domain, counter included


def test_a_published_call_opens_read_only(staff_client, db):
    call = build_call()
    response = staff_client.get(reverse("admin:calls_call_change", args=[call.pk]))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "code" not in form.fields and "closes_at" not in form.fields and "offered_spaces" not in form.fields
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission and not inline.has_change_permission
    assert "Every kind" in response.content.decode()  # allowed kinds shown by name, read-only


def test_a_draft_call_is_editable_and_its_changes_audited(staff_client, db):
    call = build_call(publish=False)
    page = staff_client.get(reverse("admin:calls_call_change", args=[call.pk]))
    form = page.context["adminform"].form
    assert "code" in form.fields and "offered_spaces" in form.fields
    assert all(inline.has_add_permission for inline in page.context["inline_admin_formsets"]
               if inline.formset.prefix != "extensions")


def test_publish_action_shows_the_problems(staff_client, db):
    call = build_call(publish=False)
    Criterion.objects.filter(call=call).delete()
    response = staff_client.post(reverse("admin:calls_call_changelist"),
                                 {"action": "publish_calls", "_selected_action": [call.pk]}, follow=True)
    text = response.content.decode()
    assert "was not published" in text and "Add the rubric" in text
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT


def test_publish_action_publishes_a_complete_call(staff_client, db):
    call = build_call(publish=False)
    staff_client.post(reverse("admin:calls_call_changelist"), {"action": "publish_calls", "_selected_action": [call.pk]})
    call.refresh_from_db()
    assert call.status == CallStatus.PUBLISHED


def test_copy_action_opens_the_copy(staff_client, db):
    call = build_call()
    response = staff_client.post(reverse("admin:calls_call_changelist"),
                                 {"action": "copy_calls", "_selected_action": [call.pk]})
    copy = Call.objects.get(code=f"{call.code}-copy")
    assert response["Location"] == reverse("admin:calls_call_change", args=[copy.pk])
    assert copy.status == CallStatus.DRAFT


def test_no_bulk_delete_of_calls(staff_client, db):
    build_call()
    response = staff_client.get(reverse("admin:calls_call_changelist"))
    assert "delete_selected" not in response.content.decode()


def test_applications_and_submissions_are_read_only(staff_client, db):
    from manifattura.calls import domain

    call = build_call()
    application, user = ready_application(call)
    submission = domain.application_submit(application=application, by=user).submission
    for model, obj in ((Application, application), (Submission, submission)):
        name = model._meta.model_name
        assert staff_client.get(reverse(f"admin:calls_{name}_changelist")).status_code == 200
        assert staff_client.get(reverse(f"admin:calls_{name}_change", args=[obj.pk])).status_code == 200
        assert staff_client.get(reverse(f"admin:calls_{name}_add")).status_code == 403
        assert staff_client.post(reverse(f"admin:calls_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert staff_client.post(reverse("admin:calls_submission_change", args=[submission.pk]), {"digest": "x"}).status_code == 403
    submission.refresh_from_db()
    assert len(submission.digest) == 64


def test_question_admin_filters_by_call_and_refuses_published_changes(staff_client, db):
    call = build_call()
    question = call.sections.get().questions.first()
    response = staff_client.get(reverse("admin:calls_question_changelist"), {"section__call__id__exact": call.pk})
    assert response.status_code == 200 and question.label in response.content.decode()
    page = staff_client.get(reverse("admin:calls_question_change", args=[question.pk]))
    assert "label" not in page.context["adminform"].form.fields  # view only: the call is published


def test_people_who_are_not_staff_do_not_reach_the_staff_area(client, db):
    client.force_login(UserFactory(email="someone@example.org"))
    response = client.get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
