"""Staff during the call: live counts, filtered list, CSV, full record, publish, extend, copy."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from manifattura.calls import domain
from manifattura.calls.enums import CallKind, CallStatus
from manifattura.calls.models import Call, DeadlineExtension
from manifattura.core import clock
from tests.calls.factories import build_call, ready_application
from tests.factories import MembershipFactory


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _submitted(call):
    application, user = ready_application(call)
    domain.application_submit(application=application, by=user)
    application.refresh_from_db()
    return application, user


def test_manage_page_shows_live_counts(staff_client, db):
    call = build_call()
    _submitted(call)
    withdrawn, user = _submitted(call)
    domain.application_withdraw(application=withdrawn, by=user)
    ready_application(call)
    text = staff_client.get(reverse("calls:manage", args=[call.code])).content.decode()
    for label in ("Drafts", "Submitted", "Withdrawn, not resubmitted"):
        assert f'<span class="value">1</span><span class="label">{label}</span>' in text
    assert '<span class="value">2</span><span class="label">Submissions, all versions</span>' in text


def test_filters_by_status_review_and_text(staff_client, db):
    call = build_call(seat_requirement="city", seat_needs_human_check=True)
    first, _u = _submitted(call)
    second, _u = _submitted(call)
    draft, _u = ready_application(call)
    url = reverse("calls:manage", args=[call.code])
    text = staff_client.get(url, {"status": "draft"}).content.decode()
    assert draft.organization.legal_name in text and first.organization.legal_name not in text
    text = staff_client.get(url, {"review": "yes"}).content.decode()
    assert first.organization.legal_name in text and draft.organization.legal_name not in text
    text = staff_client.get(url, {"q": second.organization.vat_number}).content.decode()
    assert second.organization.legal_name in text and first.organization.legal_name not in text
    protocol = second.current_submission.protocol_label
    text = staff_client.get(url, {"q": protocol}).content.decode()
    assert second.organization.legal_name in text and first.organization.legal_name not in text
    text = staff_client.get(url, {"q": first.organization.legal_name.split()[1]}).content.decode()
    assert first.organization.legal_name in text


def test_csv_export_has_bom_semicolons_and_the_columns(staff_client, db):
    call = build_call(kind=CallKind.GRANT)
    application, _u = _submitted(call)
    ready_application(call)
    response = staff_client.get(reverse("calls:manage-export", args=[call.code]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="applications-{call.code}-')
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Protocol", "Received at (Europe/Rome)", "Organization", "VAT number", "Status",
                       "Needs review", "SHA-256 digest", "Requested amount (EUR)", "Versions"]
    assert len(rows) == 3
    submission = application.current_submission
    row = rows[1]
    assert row[0] == submission.protocol_label
    local = submission.received_at.astimezone(clock.ROME)
    assert row[1] == local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    assert row[2] == application.organization.legal_name and row[3] == application.organization.vat_number
    assert row[6] == submission.digest and row[8] == "1"
    assert row[7] in ("20000.00", "20000,00")
    assert rows[2][0] == "" and rows[2][8] == "0"  # the draft, last


def test_csv_export_follows_the_filters(staff_client, db):
    call = build_call()
    _submitted(call)
    ready_application(call)
    response = staff_client.get(reverse("calls:manage-export", args=[call.code]), {"status": "submitted"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2


def test_full_record_shows_answers_files_versions_eligibility_and_audit(staff_client, db):
    call = build_call(with_file=True)
    application, user = _submitted(call)
    domain.application_withdraw(application=application, by=user, reason="Typo")
    domain.application_submit(application=application, by=user)
    text = staff_client.get(reverse("calls:manage-application", args=[call.code, application.pk])).content.decode()
    for protocol in (f"{call.code}/000001", f"{call.code}/000002"):
        assert protocol in text
    assert "Fab lab in Quarto Oggiaro" in text and "plan.pdf" in text
    assert "Valid VAT number." in text
    for verb in ("application.start", "application.upload", "application.submit", "application.withdraw"):
        assert verb in text
    assert "reason: Typo" in text


def test_publish_refused_lists_the_problems(staff_client, db):
    call = build_call(publish=False)
    call.criteria.all().delete()
    response = staff_client.post(reverse("calls:manage-publish", args=[call.code]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "The call was not published. Fix these problems first:" in text
    assert "Add the rubric&#x27;s criteria" in text
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT


def test_publish_from_the_manage_page(staff_client, db):
    call = build_call(publish=False)
    response = staff_client.post(reverse("calls:manage-publish", args=[call.code]))
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == CallStatus.PUBLISHED


def test_extension_needs_a_reason_and_a_later_deadline(staff_client, db):
    call = build_call()
    url = reverse("calls:manage-extend", args=[call.code])
    later = (call.closes_at + dt.timedelta(days=3)).astimezone(clock.ROME).strftime("%Y-%m-%dT%H:%M")
    earlier = (call.closes_at - dt.timedelta(days=3)).astimezone(clock.ROME).strftime("%Y-%m-%dT%H:%M")
    text = staff_client.post(url, {"new_closes_at": later, "reason": ""}).content.decode()
    assert "Write the reason for the extension" in text
    text = staff_client.post(url, {"new_closes_at": earlier, "reason": "More time"}).content.decode()
    assert "The new deadline must be later than the current one." in text
    assert not DeadlineExtension.objects.exists()
    response = staff_client.post(url, {"new_closes_at": later, "reason": "Portal outage"})
    assert response.status_code == 302
    extension = DeadlineExtension.objects.get()
    assert extension.reason == "Portal outage"
    assert extension.new_closes_at.astimezone(clock.ROME).strftime("%Y-%m-%dT%H:%M") == later


def test_copy_creates_a_draft_with_a_new_code(staff_client, db):
    call = build_call()
    response = staff_client.post(reverse("calls:manage-copy", args=[call.code]), {"code": "MM-2027-01", "title": ""})
    copy = Call.objects.get(code="MM-2027-01")
    assert response["Location"] == reverse("admin:calls_call_change", args=[copy.pk])
    assert copy.status == CallStatus.DRAFT and copy.copied_from == call
    text = staff_client.post(reverse("calls:manage-copy", args=[call.code]), {"code": "MM-2027-01"}).content.decode()
    assert "exists already" in text


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_staff_list_runs_the_same_queries_for_one_or_several_applications(staff_client, db):
    call = build_call()
    _submitted(call)
    url = reverse("calls:manage", args=[call.code])
    one = _count(staff_client, url)
    for _ in range(3):
        _submitted(call)
    ready_application(call)
    assert _count(staff_client, url) == one


def test_my_applications_runs_the_same_queries_for_one_or_several(client, db):
    membership = MembershipFactory()
    client.force_login(membership.user)
    first = build_call(code="C-1")
    application = domain.application_start(call=first, organization=membership.organization, by=membership.user)
    url = reverse("calls:my-applications")
    one = _count(client, url)
    for code in ("C-2", "C-3"):
        call = build_call(code=code)
        domain.application_start(call=call, organization=membership.organization, by=membership.user)
    ready_application(build_call(code="C-4"), user=membership.user)  # another organization, submitted
    submitted = membership.user.memberships.exclude(pk=membership.pk).get().organization.applications.get()
    domain.application_submit(application=submitted, by=membership.user)
    assert application.pk and _count(client, url) == one
