"""The applicant's workspace: sections that save on their own, uploads, declarations, submit, receipt, withdraw."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from manifattura.calls import domain
from manifattura.calls.enums import ApplicationStatus, CallKind, QuestionKind, SelectionMode
from manifattura.calls.models import ApplicationFile, Question, Submission
from manifattura.core import clock
from manifattura.core.models import ActionLog
from tests.calls.factories import PDF_BYTES, build_call, complete_answers, ready_application
from tests.factories import MembershipFactory

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "section"}


@pytest.fixture
def draft(db, client):
    """An open call with a file question and a member's empty draft; the member is logged in."""
    call = build_call(with_file=True)
    membership = MembershipFactory()
    application = domain.application_start(call=call, organization=membership.organization, by=membership.user)
    client.force_login(membership.user)
    return {"call": call, "application": application, "user": membership.user}


def _question(call, label):
    return Question.objects.get(section__call=call, label=label)


def _upload(client, application, question, name, content):
    url = reverse("calls:file-upload", args=[application.pk, question.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, **HTMX)


def test_htmx_section_save_keeps_an_invalid_value_and_shows_the_error_on_the_field(client, draft):
    call, application = draft["call"], draft["application"]
    title, jobs = _question(call, "Project title"), _question(call, "Jobs created")
    url = reverse("calls:section-save", args=[application.pk, title.section_id])
    response = client.post(url, {f"q{title.pk}": "Fab lab", f"q{jobs.pk}": "seven"}, **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="section-%d"' % title.section_id in text
    assert 'value="seven"' in text  # what was typed is still in the field
    assert "Write a number, for example 1500 or 1500,50." in text
    assert 'id="checklist" class="checklist-box" hx-swap-oob="true"' in text  # the checklist refreshes too
    assert "Saved at" in text
    application.refresh_from_db()
    assert application.answers == {str(title.pk): "Fab lab", str(jobs.pk): "seven"}


def test_plain_post_saves_and_the_page_shows_the_kept_value_with_its_error(client, draft):
    call, application = draft["call"], draft["application"]
    jobs = _question(call, "Jobs created")
    url = reverse("calls:section-save", args=[application.pk, jobs.section_id])
    response = client.post(url, {f"q{jobs.pk}": "9999"}, follow=True)
    text = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"#section-{jobs.section_id}")
    assert "Some answers need fixing" in text
    assert 'value="9999"' in text and "The number must be at most 500." in text


def test_the_checklist_lists_what_is_missing_and_empties_when_complete(client, draft):
    call, application = draft["call"], draft["application"]
    page = client.get(reverse("calls:application", args=[application.pk])).content.decode()
    assert "Project title" in page and "Required: please answer." in page
    assert "Accept the self-declaration to submit." in page
    user = draft["user"]
    domain.application_save_section(application=application, by=user, values=complete_answers(call))
    domain.application_upload_file(application=application, by=user, name="plan.pdf", content=PDF_BYTES,
                                   question_id=_question(call, "Business plan (PDF)").pk)
    domain.application_accept_declarations(application=application, by=user,
                                           declaration_ids=[d.pk for d in call.declarations.all()])
    page = client.get(reverse("calls:application", args=[application.pk])).content.decode()
    assert "Everything required is filled in." in page


def test_declarations_save_with_htmx(client, draft):
    call, application = draft["call"], draft["application"]
    declaration = call.declarations.get()
    url = reverse("calls:declarations-save", args=[application.pk])
    response = client.post(url, {"declaration": [str(declaration.pk)]}, **HTMX)
    assert response.status_code == 200
    assert f'id="declaration-{declaration.pk}" checked' in response.content.decode()
    application.refresh_from_db()
    assert application.accepted_declarations == [declaration.pk]


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.pdf", EXE, "is not a real .pdf file"),
        ("plan.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1), "the limit is 1 MB"),
        ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", "The file name needs an extension"),
        ("plan.exe", EXE, "Files of type .exe are not accepted here"),
    ],
    ids=["renamed-executable", "oversized", "path-trick", "wrong-extension"],
)
def test_refused_uploads_are_explained_on_the_question_and_nothing_is_stored(client, draft, settings, name, content, message):
    question = _question(draft["call"], "Business plan (PDF)")
    response = _upload(client, draft["application"], question, name, content)
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="q-{question.pk}"' in text and "question-error" in text
    assert message in text
    assert not ApplicationFile.objects.exists()
    private = settings.PRIVATE_MEDIA_ROOT
    assert not private.exists() or not any(p.is_file() for p in private.rglob("*"))


def test_a_refused_upload_without_javascript_renders_the_page_with_the_error(client, draft):
    question = _question(draft["call"], "Business plan (PDF)")
    url = reverse("calls:file-upload", args=[draft["application"].pk, question.pk])
    response = client.post(url, {"file": SimpleUploadedFile("plan.pdf", EXE)})
    assert response.status_code == 200
    assert "The file was not accepted" in response.content.decode()
    assert not ApplicationFile.objects.exists()


def test_an_accepted_upload_shows_name_size_and_a_private_link(client, draft):
    question = _question(draft["call"], "Business plan (PDF)")
    response = _upload(client, draft["application"], question, "Business plan.pdf", PDF_BYTES)
    stored = ApplicationFile.objects.get()
    text = response.content.decode()
    assert "Business plan.pdf" in text and "File received." in text
    assert reverse("calls:file-download", args=[stored.pk]) in text
    download = client.get(reverse("calls:file-download", args=[stored.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="Business plan.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/pdf"


def test_double_submit_with_the_same_token_gives_one_submission_and_the_same_receipt(client, db):
    call = build_call(with_file=True)
    application, user = ready_application(call)
    client.force_login(user)
    url = reverse("calls:submit", args=[application.pk])
    page = client.get(reverse("calls:application", args=[application.pk])).content.decode()
    token = page.split('name="submit_token" value="')[1][:32]
    first = client.post(url, {"submit_token": token})
    second = client.post(url, {"submit_token": token}, follow=True)
    assert first["Location"] == second.redirect_chain[0][0] == reverse("calls:receipt", args=[application.pk])
    assert Submission.objects.count() == 1
    text = second.content.decode()
    assert "Your application had already been received: here is its receipt." in text
    assert Submission.objects.get().protocol_label in text


def test_late_submit_is_refused_with_a_clear_message_and_the_draft_kept(client, db):
    opens, closes = clock.rome(2026, 5, 4, 9), clock.rome(2026, 5, 20, 12)
    with clock.frozen(clock.rome(2026, 5, 5, 9)):
        call = build_call(opens_at=opens, closes_at=closes, with_file=True)
        application, user = ready_application(call)
    answers = dict(application.answers)
    client.force_login(user)
    clock.freeze(closes + dt.timedelta(seconds=1))
    response = client.post(reverse("calls:submit", args=[application.pk]), {"submit_token": "b" * 32})
    text = response.content.decode()
    assert response.status_code == 200
    assert "The application was not submitted. Your draft is kept as it is." in text
    assert "submissions are no longer accepted. Your draft is kept." in text
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT and application.answers == answers
    assert not Submission.objects.exists()
    assert 'name="submit_token"' not in text  # no submit button once closed


def test_an_incomplete_submit_lists_every_problem(client, draft):
    response = client.post(reverse("calls:submit", args=[draft["application"].pk]), {"submit_token": "c" * 32})
    text = response.content.decode()
    assert "Project — Project title: Required: please answer." in text
    assert "Project — Business plan (PDF): Required: please answer." in text
    assert not Submission.objects.exists()


def test_receipt_shows_protocol_milliseconds_digest_and_first_come_position(client, db):
    call = build_call(kind=CallKind.GRANT, mode=SelectionMode.FIRST_COME)
    first, first_user = ready_application(call)
    domain.application_submit(application=first, by=first_user)
    application, user = ready_application(call)
    client.force_login(user)
    with clock.frozen(clock.now().replace(microsecond=123456)):
        client.post(reverse("calls:submit", args=[application.pk]), {"submit_token": "d" * 32})
    submission = Submission.objects.get(application=application)
    text = client.get(reverse("calls:receipt", args=[application.pk])).content.decode()
    assert submission.protocol_label in text and submission.protocol == 2
    assert ".123</time>" in text  # receipt instant with milliseconds
    assert submission.digest in text
    assert "Position in receipt order" in text
    assert reverse("calls:receipt-pdf", args=[application.pk]) in text


def test_withdraw_keeps_the_draft_and_all_versions_are_listed(client, db):
    call = build_call(with_file=True)
    application, user = ready_application(call)
    client.force_login(user)
    client.post(reverse("calls:submit", args=[application.pk]), {"submit_token": "e" * 32})
    confirm = client.get(reverse("calls:withdraw", args=[application.pk]))
    assert "Withdraw the submission?" in confirm.content.decode()
    client.post(reverse("calls:withdraw", args=[application.pk]), {"reason": "We add a partner"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    entry = ActionLog.objects.get(verb="application.withdraw")
    assert entry.data["reason"] == "We add a partner"
    # A stale page (the first token) does not resubmit: it says the page was out of date.
    stale = client.post(reverse("calls:submit", args=[application.pk]), {"submit_token": "e" * 32}, follow=True)
    assert "That page was out of date" in stale.content.decode()
    client.post(reverse("calls:submit", args=[application.pk]), {"submit_token": "f" * 32})
    page = client.get(reverse("calls:application", args=[application.pk])).content.decode()
    assert f"{call.code}/000001" in page and f"{call.code}/000002" in page
    assert Submission.objects.filter(application=application).count() == 2


def test_my_applications_lists_the_applications_of_my_organizations_only(client, db):
    call = build_call()
    mine, user = ready_application(call)
    theirs, _other = ready_application(call)
    client.force_login(user)
    text = client.get(reverse("calls:my-applications")).content.decode()
    assert reverse("calls:application", args=[mine.pk]) in text
    assert reverse("calls:application", args=[theirs.pk]) not in text


def test_registered_person_without_organization_is_told_how_to_apply(client, registered):
    call = build_call()
    client.force_login(registered)
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    assert "To apply you must act for an organization" in text
    text = client.get(reverse("calls:my-applications")).content.decode()
    assert "not linked to any organization" in text


def test_a_person_with_two_organizations_chooses_which_one_applies(client, db):
    call = build_call()
    first = MembershipFactory()
    second = MembershipFactory(user=first.user)
    client.force_login(first.user)
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    assert f'<option value="{first.organization_id}"' in text and f'<option value="{second.organization_id}"' in text
    response = client.post(reverse("calls:apply", args=[call.code]), {"organization": second.organization_id})
    application = second.organization.applications.get()
    assert response["Location"] == reverse("calls:application", args=[application.pk])


def test_file_questions_say_what_they_accept(client, draft):
    question = _question(draft["call"], "Business plan (PDF)")
    assert question.kind == QuestionKind.FILE
    text = client.get(reverse("calls:application", args=[draft["application"].pk])).content.decode()
    assert 'accept=".pdf"' in text and "up to 1 MB" in text
