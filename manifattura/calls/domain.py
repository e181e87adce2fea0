"""Every write of the calls area: one transaction each, audited, notifications after commit."""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manifattura.calls import answers as form_answers
from manifattura.calls import eligibility
from manifattura.calls.enums import (
    EDITABLE_APPLICATION_STATUSES,
    ApplicationStatus,
    CallKind,
    CallPhase,
    CallStatus,
    QuestionKind,
    RuleOutcome,
)
from manifattura.calls.files import FileRejected, check_upload
from manifattura.calls.models import (
    Application,
    ApplicationFile,
    Call,
    Criterion,
    Declaration,
    DeadlineExtension,
    FormSection,
    ProtocolCounter,
    Question,
    Submission,
)
from manifattura.calls.receipts import (
    RECEIPT_SUBJECT,
    RECEIPT_TEMPLATE,
    receipt_email_attachments,
    receipt_email_context,
)
from manifattura.core import clock
from manifattura.core.audit import audit_record
from manifattura.core.money import plain_number
from manifattura.core.notify import send_email
from manifattura.places.enums import SITE_TRANSITIONS, SiteStatus, SpaceAvailability

CALL_FIELDS = {
    "code", "kind", "selection_mode", "title", "summary", "body", "contact_email", "contact_phone",
    "opens_at", "closes_at", "grant_budget", "grant_max_per_application", "cofinancing_share",
    "allowed_organization_kinds", "max_organization_age_years", "require_valid_vat", "seat_requirement",
    "seat_needs_human_check", "one_per_organization", "rubric_total", "min_total_score", "is_demo",
    # evaluation rules, published with the call
    "reviewers_per_application", "anonymous_review", "score_aggregation", "comment_required_below",
    "tie_breaks", "ranking_attributes", "space_needs", "publish_names", "appeal_days", "preference_days",
    "acceptance_days", "grant_last_rule", "concession_years",
}


class SubmissionRefused(Exception):
    """A submission that cannot be accepted; ``problems`` say what to fix. The draft is untouched."""

    def __init__(self, code: str, problems: list[str]):
        super().__init__("; ".join(str(p) for p in problems))
        self.code = code
        self.problems = [str(p) for p in problems]


class NotEditable(Exception):
    """The application or call cannot be changed now; the message says why."""


# --- phases -------------------------------------------------------------------------------------

def call_phase(call: Call, at=None) -> str:
    """Where the call stands at ``at`` (default now): derived from status and the clock."""
    at = at or clock.now()
    if call.status == CallStatus.DRAFT:
        return CallPhase.DRAFT
    if call.status == CallStatus.CANCELLED:
        return CallPhase.CANCELLED
    if call.opens_at and at < call.opens_at:
        return CallPhase.UPCOMING
    if call.closes_at and at >= call.closes_at:
        return CallPhase.CLOSED
    return CallPhase.OPEN


# --- setting up a call (staff) ------------------------------------------------------------------

@transaction.atomic
def call_create(*, by, **fields) -> Call:
    unknown = set(fields) - CALL_FIELDS
    if unknown:
        raise TypeError(f"unknown call fields: {sorted(unknown)}")
    call = Call(**fields)
    call.full_clean()
    call.save()
    ProtocolCounter.objects.create(call=call)
    audit_record(verb="call.create", actor=by, obj=call)
    return call


def _require_draft(call: Call) -> None:
    if call.status != CallStatus.DRAFT:
        raise NotEditable(_(
            "The call is published: its rules can no longer change. Only the deadline may be extended, with a reason."
        ))


@transaction.atomic
def call_update(*, call: Call, by, **fields) -> Call:
    """Change a draft call. A published call's rules are frozen (see ``call_extend_deadline``)."""
    unknown = set(fields) - CALL_FIELDS
    if unknown:
        raise TypeError(f"unknown call fields: {sorted(unknown)}")
    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_draft(call)
    for name, value in fields.items():
        setattr(call, name, value)
    call.full_clean()
    call.save()
    audit_record(verb="call.update", actor=by, obj=call, data={"fields": sorted(fields)})
    return call


@transaction.atomic
def call_copy(*, call: Call, by, code: str, title: str | None = None) -> Call:
    """A new draft call with the same rules, form, rubric, declarations and offered spaces."""
    values = {name: getattr(call, name) for name in CALL_FIELDS if name not in {"code", "is_demo"}}
    values.update(code=code, title=title or call.title, opens_at=None, closes_at=None)
    copy = Call(**values, copied_from=call)
    copy.full_clean()
    copy.save()
    ProtocolCounter.objects.create(call=copy)
    copy.offered_spaces.set(call.offered_spaces.all())
    for declaration in call.declarations.all():
        Declaration.objects.create(call=copy, text=declaration.text, order=declaration.order)
    for criterion in call.criteria.all():
        Criterion.objects.create(
            call=copy, code=criterion.code, title=criterion.title, description=criterion.description,
            max_points=criterion.max_points, weight=criterion.weight, order=criterion.order,
        )
    for section in call.sections.prefetch_related("questions"):
        new_section = FormSection.objects.create(
            call=copy, title=section.title, help_text=section.help_text, order=section.order
        )
        for question in section.questions.all():
            question.pk = None
            question.section = new_section
            question.save()
    audit_record(verb="call.copy", actor=by, obj=copy, data={"from": call.pk})
    return copy


def call_publish_problems(call: Call) -> list[str]:
    """Everything that stops a call from being published (empty: it can be published)."""
    problems: list[str] = []
    if not call.opens_at or not call.closes_at:
        problems.append(_("Set both the opening and the closing date and time."))
    elif call.closes_at <= call.opens_at:
        problems.append(_("The closing instant must come after the opening instant."))
    elif call.closes_at <= clock.now():
        problems.append(_("The closing instant is already past."))
    if not call.summary.strip():
        problems.append(_("Write a summary of the call."))
    criteria = list(call.criteria.all())
    if not criteria:
        problems.append(_("Add the rubric's criteria: the law requires them to be published with the call."))
    else:
        total = sum(c.max_points * c.weight for c in criteria)
        if total != call.rubric_total:
            problems.append(_(
                "The rubric does not add up: the criteria give %(sum)s points (maximum × weight), the call says %(total)s."
            ) % {"sum": plain_number(total), "total": plain_number(call.rubric_total)})
        if call.min_total_score > call.rubric_total:
            problems.append(_("The minimum total is higher than the rubric's total."))
    spaces = list(call.offered_spaces.select_related("site"))
    if call.kind == CallKind.SPACE and not spaces:
        problems.append(_("A space-assignment call must offer at least one space."))
    for space in spaces:
        if space.availability != SpaceAvailability.AVAILABLE:
            problems.append(_("The space “%(space)s” is not available (%(state)s).") % {
                "space": space, "state": space.get_availability_display()})
    if call.kind == CallKind.GRANT:
        if not call.grant_budget:
            problems.append(_("A grant call needs a budget."))
        if call.grant_max_per_application and call.grant_budget and call.grant_max_per_application > call.grant_budget:
            problems.append(_("The maximum grant per application exceeds the budget."))
        if not Question.objects.filter(section__call=call, is_requested_amount=True).exists():
            problems.append(_("Add a number question marked as the requested amount."))
    questions = list(Question.objects.filter(section__call=call))
    if not questions:
        problems.append(_("The application form has no questions."))
    for question in questions:
        if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE) and len(question.choices or []) < 2:
            problems.append(_("The question “%(q)s” needs at least two options.") % {"q": question.label})
        if question.kind == QuestionKind.FILE and not question.allowed_file_types:
            problems.append(_("The file question “%(q)s” must say which file types it accepts.") % {"q": question.label})
        if question.min_length and question.max_length and question.min_length > question.max_length:
            problems.append(_("The question “%(q)s” has a minimum length above its maximum.") % {"q": question.label})
        if question.min_value is not None and question.max_value is not None and question.min_value > question.max_value:
            problems.append(_("The question “%(q)s” has a minimum above its maximum.") % {"q": question.label})
        if question.is_requested_amount and question.kind != QuestionKind.NUMBER:
            problems.append(_("The requested amount “%(q)s” must be a number question.") % {"q": question.label})
    return problems


@transaction.atomic
def call_publish(*, call: Call, by) -> Call:
    """Publish a complete call: its offered spaces (and their sites) become "offered"."""
    from manifattura.places.domain import site_change_status
    from manifattura.places.models import Site, Space

    call = Call.objects.select_for_update().get(pk=call.pk)
    _require_draft(call)
    problems = call_publish_problems(call)
    if problems:
        raise ValidationError(problems)
    space_ids = list(call.offered_spaces.values_list("id", flat=True))
    Space.objects.select_for_update().filter(pk__in=space_ids)  # lock before changing availability
    changed = Space.objects.filter(pk__in=space_ids, availability=SpaceAvailability.AVAILABLE).update(
        availability=SpaceAvailability.OFFERED
    )
    if changed != len(space_ids):
        raise ValidationError([_("An offered space was taken by another call meanwhile: check the spaces.")])
    for site in Site.objects.filter(spaces__in=space_ids).distinct():
        if SiteStatus.OFFERED in SITE_TRANSITIONS.get(site.status, set()) and site.status != SiteStatus.OFFERED:
            site_change_status(site=site, to=SiteStatus.OFFERED, by=by, reason=_("Offered in call %(code)s") % {"code": call.code})
    call.status = CallStatus.PUBLISHED
    call.published_at = clock.now()
    call.save(update_fields=["status", "published_at", "updated_at"])
    audit_record(verb="call.publish", actor=by, obj=call, data={"spaces": space_ids})
    return call


@transaction.atomic
def call_extend_deadline(*, call: Call, by, new_closes_at, reason: str) -> Call:
    """Move a published call's deadline later; the reason is recorded and shown."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.status != CallStatus.PUBLISHED:
        raise ValidationError({"closes_at": _("Only a published call's deadline can be extended.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Write the reason for the extension: it is published with the call.")})
    if new_closes_at <= call.closes_at:
        raise ValidationError({"closes_at": _("The new deadline must be later than the current one.")})
    DeadlineExtension.objects.create(
        call=call, previous_closes_at=call.closes_at, new_closes_at=new_closes_at, reason=reason.strip(),
        decided_by=by, decided_at=clock.now(),
    )
    previous = call.closes_at
    call.closes_at = new_closes_at
    call.save(update_fields=["closes_at", "updated_at"])
    audit_record(verb="call.extend_deadline", actor=by, obj=call,
                 data={"from": previous, "to": new_closes_at, "reason": reason.strip()})
    return call


# --- applying -----------------------------------------------------------------------------------

def _require_member(application_or_org, by) -> None:
    organization = getattr(application_or_org, "organization", application_or_org)
    if not (by and by.is_authenticated and organization.memberships.filter(user=by).exists()):
        raise PermissionError(_("You do not act for this organization."))


def _require_editable(application: Application, call: Call) -> None:
    phase = call_phase(call)
    if phase in (CallPhase.CLOSED, CallPhase.CANCELLED):
        raise NotEditable(_("The call is closed: the application can no longer be changed."))
    if phase == CallPhase.DRAFT:
        raise NotEditable(_("The call is not published yet."))
    if application.status not in EDITABLE_APPLICATION_STATUSES:
        raise NotEditable(_("The application is submitted: withdraw it first to change it."))


@transaction.atomic
def application_start(*, call: Call, organization, by) -> Application:
    """The organization's draft for the call (the existing one if the call allows one per organization)."""
    _require_member(organization, by)
    phase = call_phase(call)
    if phase not in (CallPhase.UPCOMING, CallPhase.OPEN):
        raise NotEditable(_("Applications can be prepared only after the call is published and before it closes."))
    if call.one_per_organization:
        existing = Application.objects.filter(call=call, organization=organization).first()
        if existing:
            return existing
        slot = 1
    else:
        slot = (Application.objects.filter(call=call, organization=organization).aggregate(m=Max("slot"))["m"] or 0) + 1
    now = clock.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                call=call, organization=organization, slot=slot, created_by=by, created_at=now, updated_at=now
            )
    except IntegrityError:  # a concurrent start (double click) created it first
        return Application.objects.get(call=call, organization=organization, slot=slot)
    audit_record(verb="application.start", actor=by, obj=application)
    return application


@transaction.atomic
def application_save_section(*, application: Application, by, values: dict, section_id: int | None = None) -> dict:
    """Save answers (all of a section, or any subset); returns {question_id: error} for values to fix.

    Every value is kept, even one with an error, so nothing typed is lost; the checklist shows
    what must still be fixed before submission.
    """
    application = Application.objects.select_for_update().select_related("call", "organization").get(pk=application.pk)
    _require_member(application, by)
    _require_editable(application, application.call)
    spec = form_answers.form_spec(application.call)
    questions = spec.by_key()
    errors: dict[str, str] = {}
    answers = dict(application.answers)
    for key, value in values.items():
        key = str(key)
        question = questions.get(key)
        if question is None or (section_id is not None and question.section_id != section_id):
            errors[key] = _("This question is not part of the form.")
            continue
        if question.kind == QuestionKind.FILE:
            continue  # files are set by application_upload_file
        try:
            answers[key] = form_answers.clean_answer(question, value)
        except ValueError as exc:
            answers[key] = value
            errors[key] = str(exc)
    application.answers = answers
    application.updated_at = clock.now()
    application.save(update_fields=["answers", "updated_at"])
    _prepare(application, spec)
    return errors


@transaction.atomic
def application_accept_declarations(*, application: Application, by, declaration_ids: list[int]) -> Application:
    application = Application.objects.select_for_update().select_related("call", "organization").get(pk=application.pk)
    _require_member(application, by)
    _require_editable(application, application.call)
    valid = set(application.call.declarations.values_list("id", flat=True))
    application.accepted_declarations = sorted({int(d) for d in declaration_ids} & valid)
    application.updated_at = clock.now()
    application.save(update_fields=["accepted_declarations", "updated_at"])
    _prepare(application)
    return application


@transaction.atomic
def application_upload_file(*, application: Application, by, question_id: int, name: str, content: bytes) -> ApplicationFile:
    """Check and store a file privately for a file question (replacing the question's previous file)."""
    application = Application.objects.select_for_update().select_related("call", "organization").get(pk=application.pk)
    _require_member(application, by)
    _require_editable(application, application.call)
    question = Question.objects.filter(pk=question_id, section__call=application.call, kind=QuestionKind.FILE).first()
    if question is None:
        raise FileRejected(_("This question does not take files."))
    checked = check_upload(
        name=name, content=content, allowed_types=tuple(question.allowed_file_types or ()), max_mb=question.max_file_mb
    )
    stored = ApplicationFile(
        application=application, question=question, original_name=checked.name, size=checked.size,
        sha256=checked.sha256, content_type=checked.content_type, uploaded_by=by, uploaded_at=clock.now(),
    )
    stored.file.save("upload", ContentFile(content), save=False)
    stored.save()
    application.answers = {**application.answers, str(question.pk): [stored.pk]}
    application.updated_at = clock.now()
    application.save(update_fields=["answers", "updated_at"])
    audit_record(verb="application.upload", actor=by, obj=application,
                 data={"file": stored.pk, "name": checked.name, "sha256": checked.sha256})
    _prepare(application)
    return stored


def application_checklist(application: Application, spec=None) -> list[form_answers.Missing]:
    spec = spec or form_answers.form_spec(application.call)
    file_ids = set(application.files.values_list("id", flat=True)) if any(
        q.kind == QuestionKind.FILE for q in spec.questions) else set()
    return form_answers.checklist(spec, application.answers, application.accepted_declarations, file_ids)


@dataclass(frozen=True)
class SubmitResult:
    submission: Submission
    created: bool


_spec_cache: dict[tuple, form_answers.FormSpec] = {}


def _published_form_spec(call: Call) -> form_answers.FormSpec:
    """A published call's form never changes, so it is read once per process."""
    key = (call.pk, call.published_at)
    spec = _spec_cache.get(key)
    if spec is None:
        spec = form_answers.form_spec(call)
        if call.status == CallStatus.PUBLISHED:
            _spec_cache[key] = spec
    return spec


def _snapshot(application: Application, spec, files: dict[int, ApplicationFile], results) -> dict:
    org = application.organization
    answers = []
    for question in spec.questions:
        value = application.answers.get(question.key)
        if question.kind == QuestionKind.FILE and value:
            value = [
                {"id": fid, "name": files[fid].original_name, "size": files[fid].size, "sha256": files[fid].sha256}
                for fid in value if fid in files
            ]
        answers.append({"question": question.id, "section": question.section_title, "label": question.label,
                        "kind": question.kind, "value": value})
    return {
        "call": application.call.code,
        "application": application.pk,
        "organization": {
            "id": org.pk, "legal_name": org.legal_name, "kind": org.kind, "vat_number": org.vat_number,
            "tax_code": org.tax_code, "address": org.address, "city": org.city,
            "operating_address": org.operating_address, "operating_city": org.operating_city,
            "founded_on": org.founded_on.isoformat() if org.founded_on else None, "ateco_code": org.ateco_code,
        },
        "answers": answers,
        "declarations": sorted(application.accepted_declarations),
        "eligibility": [r.as_dict() for r in results],
    }


def snapshot_digest(snapshot: dict) -> str:
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _take_protocol(submission: Submission) -> None:
    """Give the submission the call's next protocol number and its receipt instant.

    This is the hot lock of a click day, so it runs last before commit: on PostgreSQL one
    statement increments the counter (row lock until commit) and stamps the submission with
    the database clock read after the lock, so receipt order always matches protocol order.
    """
    frozen = clock.frozen_instant()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH counter AS (
                    UPDATE calls_protocolcounter SET last_number = last_number + 1
                    WHERE call_id = %s RETURNING last_number
                )
                UPDATE calls_submission SET protocol = counter.last_number,
                       received_at = COALESCE(%s, clock_timestamp())
                FROM counter WHERE calls_submission.id = %s
                RETURNING calls_submission.protocol, calls_submission.received_at
                """,
                [submission.call_id, frozen, submission.pk],
            )
            submission.protocol, submission.received_at = cursor.fetchone()
        return
    # Elsewhere (SQLite) writers are serialized by the database itself.
    ProtocolCounter.objects.filter(call_id=submission.call_id).update(last_number=F("last_number") + 1)
    submission.protocol = ProtocolCounter.objects.values_list("last_number", flat=True).get(call_id=submission.call_id)
    submission.received_at = clock.now()
    Submission.objects.filter(pk=submission.pk).update(protocol=submission.protocol, received_at=submission.received_at)


def application_submit(
    *, application: Application, by, idempotency_key: str | None = None, try_prepared: bool = True
) -> SubmitResult:
    """Submit the application: snapshot, digest, protocol number and receipt, in one short transaction.

    A retry (same ``idempotency_key``, or the application already submitted) returns the same
    receipt with ``created=False``. Refusals raise ``SubmissionRefused`` and change nothing.

    On PostgreSQL a prepared draft (``_prepare``) is submitted by one database call
    (``submit_fast.run``) that writes exactly what ``_submit`` writes; anything else goes on here
    (straight away with ``try_prepared=False``: the caller has just tried).
    """
    from manifattura.calls import submit_fast  # it imports the API's receipt shape, which imports this

    if try_prepared and by.pk and submit_fast.enabled():
        receipt = submit_fast.run(application_id=application.pk, user_id=by.pk, idempotency_key=idempotency_key)
        if receipt is not None:
            return SubmitResult(Submission.objects.select_related("call").get(pk=receipt.submission_id), created=True)
    if idempotency_key:
        existing = Submission.objects.select_related("call").filter(
            submitted_by=by, idempotency_key=idempotency_key).first()
        if existing:
            return SubmitResult(existing, created=False)
    try:
        with transaction.atomic():
            return _submit(application=application, by=by, idempotency_key=idempotency_key)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race: answer with its receipt.
        if idempotency_key:
            existing = Submission.objects.select_related("call").filter(
                submitted_by=by, idempotency_key=idempotency_key).first()
            if existing:
                return SubmitResult(existing, created=False)
        raise


@dataclass(frozen=True)
class SubmissionContent:
    """What a submission freezes: everything but its protocol number and receipt instant."""

    snapshot: dict
    digest: str
    requested_amount: object  # Decimal | None
    eligibility: list[dict]
    needs_review: bool
    valid_from: object  # datetime.date: the Europe/Rome day it was evaluated on
    valid_until: object  # datetime.date | None: first day the eligibility could read differently


def _submission_content(application: Application, call: Call, spec, files: dict, *, on) -> SubmissionContent:
    """Checklist, eligibility on the (Europe/Rome) day ``on``, snapshot and digest; refusals raise.

    ``application.organization`` must be loaded. A pure function of the draft, the organization's
    profile, the published call and the day: the same inputs always give the same content.
    """
    missing = form_answers.checklist(spec, application.answers, application.accepted_declarations, set(files))
    if missing:
        raise SubmissionRefused("incomplete", [
            _("%(section)s — %(label)s: %(problem)s") % {"section": m.section_title, "label": m.label, "problem": m.problem}
            for m in missing
        ])
    organization = application.organization
    results = eligibility.evaluate(call, organization, on=on, municipality=settings.MANIFATTURA["MUNICIPALITY"])
    failed = [r.message for r in results if r.outcome == RuleOutcome.FAILED]
    if failed:
        raise SubmissionRefused("ineligible", failed)
    amount = form_answers.requested_amount(spec, application.answers)
    if call.kind == CallKind.GRANT and call.grant_max_per_application and amount and amount > call.grant_max_per_application:
        raise SubmissionRefused("ineligible", [_("The requested amount exceeds the call's maximum of %(max)s EUR.") % {
            "max": call.grant_max_per_application}])
    snapshot = _snapshot(application, spec, files, results)
    return SubmissionContent(
        snapshot=snapshot, digest=snapshot_digest(snapshot), requested_amount=amount,
        eligibility=[r.as_dict() for r in results],
        needs_review=any(r.outcome == RuleOutcome.REVIEW for r in results),
        valid_from=on, valid_until=eligibility.next_change(call, organization, on),
    )


def _application_files(application: Application, spec) -> dict[int, ApplicationFile]:
    if not any(q.kind == QuestionKind.FILE for q in spec.questions):
        return {}
    return {f.pk: f for f in application.files.all()}


def _submit(*, application: Application, by, idempotency_key: str | None) -> SubmitResult:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("call", "organization", "current_submission")
        .get(pk=application.pk)
    )
    call = application.call
    if not application.organization.memberships.filter(user=by).exists():
        raise PermissionError(_("You do not act for this organization."))
    if application.status == ApplicationStatus.SUBMITTED and application.current_submission:
        submission = application.current_submission
        submission.call = call
        return SubmitResult(submission, created=False)
    phase = call_phase(call)
    if phase != CallPhase.OPEN:
        raise SubmissionRefused(phase, [_refusal_for_phase(call, phase)])
    spec = _published_form_spec(call)
    content = _submission_content(
        application, call, spec, _application_files(application, spec), on=clock.local_now().date())
    submission = Submission.objects.create(
        application=application, call=call, snapshot=content.snapshot, digest=content.digest,
        requested_amount=content.requested_amount, eligibility=content.eligibility,
        needs_review=content.needs_review, submitted_by=by, idempotency_key=idempotency_key or None,
    )
    Application.objects.filter(pk=application.pk).update(
        status=ApplicationStatus.SUBMITTED, current_submission=submission
    )
    audit_record(verb="application.submit", actor=by, obj=application,
                 data={"submission": submission.pk, "digest": submission.digest})
    send_email(
        to=[by.email], subject=RECEIPT_SUBJECT, template=RECEIPT_TEMPLATE,
        context=receipt_email_context(submission.pk), attachments=receipt_email_attachments(submission.pk),
        language=getattr(by, "language", None),
    )
    _take_protocol(submission)  # last: the hot lock is held only until commit
    if submission.received_at >= call.closes_at:
        # The lock was granted after the deadline: refuse, and the rollback frees the number.
        raise SubmissionRefused(CallPhase.CLOSED, [_refusal_for_phase(call, CallPhase.CLOSED)])
    return SubmitResult(submission, created=True)


# --- prepared submissions -------------------------------------------------------------------------
# A complete draft keeps the content its submission would freeze (``Application.prepared``), written
# in the same transaction as every change to the draft. On PostgreSQL the click-day endpoint
# (``calls.submit_fast``) then submits in one database call, after checking in that call that the
# draft's answers and declarations, the organization's profile, the day and the call still give this
# very content; anything else goes through ``_submit``, which computes everything afresh.

def _prepare(application: Application, spec=None) -> None:
    """Store (or clear) the content ``application`` would submit now; call it after each draft change.

    ``application.call`` and ``application.organization`` must be loaded.
    """
    call = application.call
    prepared = None
    if call.status == CallStatus.PUBLISHED:
        spec = spec or _published_form_spec(call)
        try:
            content = _submission_content(
                application, call, spec, _application_files(application, spec), on=clock.local_now().date())
        except SubmissionRefused:
            pass  # incomplete or ineligible: submitting will say why
        else:
            prepared = {
                # The draft it was computed from: the submit function compares them with the row.
                "answers": application.answers, "declarations": application.accepted_declarations,
                "snapshot": content.snapshot, "digest": content.digest,
                "requested_amount": str(content.requested_amount) if content.requested_amount is not None else None,
                "eligibility": content.eligibility, "needs_review": content.needs_review,
                "valid_from": content.valid_from.isoformat(),
                "valid_until": content.valid_until.isoformat() if content.valid_until else None,
            }
    if prepared != application.prepared:
        application.prepared = prepared
        Application.objects.filter(pk=application.pk).update(prepared=prepared)


def prepare_submissions(call: Call, *, progress=None, batch: int = 500) -> int:
    """Prepare every draft (or withdrawn) application of the call afresh; returns how many are ready.

    For the programme office before a click day (``manifattura prepare-submissions``): drafts
    imported in bulk, or prepared before an organization's anniversary changed its age, are brought
    up to date. Each batch is its own transaction, so a long run locks nothing for long.
    """
    ids = list(Application.objects.filter(call=call, status__in=EDITABLE_APPLICATION_STATUSES)
               .order_by("pk").values_list("pk", flat=True))
    ready = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            chunk = (Application.objects.select_for_update(of=("self",)).select_related("call", "organization")
                     .filter(pk__in=ids[start:start + batch], status__in=EDITABLE_APPLICATION_STATUSES)
                     .order_by("pk"))
            for application in chunk:
                _prepare(application)
                ready += application.prepared is not None
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
    return ready


def _refusal_for_phase(call: Call, phase: str) -> str:
    from django.utils import formats, timezone

    if phase == CallPhase.UPCOMING:
        when = formats.date_format(timezone.localtime(call.opens_at), "DATETIME_FORMAT")
        return _("The call opens on %(when)s: submit from then on. Your draft is saved.") % {"when": when}
    if phase == CallPhase.CLOSED:
        when = formats.date_format(timezone.localtime(call.closes_at), "DATETIME_FORMAT")
        return _("The call closed on %(when)s: submissions are no longer accepted. Your draft is kept.") % {"when": when}
    if phase == CallPhase.CANCELLED:
        return _("The call has been cancelled.")
    return _("The call is not published.")


@transaction.atomic
def application_withdraw(*, application: Application, by, reason: str = "") -> Application:
    """Withdraw the current submission before the deadline; the application may be submitted again."""
    application = Application.objects.select_for_update(of=("self",)).select_related("call", "current_submission").get(pk=application.pk)
    _require_member(application, by)
    if application.status != ApplicationStatus.SUBMITTED or application.current_submission is None:
        raise NotEditable(_("Only a submitted application can be withdrawn."))
    if call_phase(application.call) != CallPhase.OPEN:
        raise NotEditable(_("The call is closed: the submission can no longer be withdrawn."))
    submission = application.current_submission
    submission.withdrawn_at = clock.now()
    submission.withdrawn_by = by
    submission.save(update_fields=["withdrawn_at", "withdrawn_by"])
    application.status = ApplicationStatus.WITHDRAWN
    application.current_submission = None
    application.updated_at = clock.now()
    application.save(update_fields=["status", "current_submission", "updated_at"])
    audit_record(verb="application.withdraw", actor=by, obj=application,
                 data={"submission": submission.pk, "protocol": submission.protocol, "reason": reason})
    send_email(
        to=[by.email], subject=gettext_lazy("Your application was withdrawn"), template="calls/email/withdrawn.txt",
        context={"call": application.call.code, "title": application.call.title,
                 "protocol": submission.protocol_label, "organization": str(application.organization)},
        language=getattr(by, "language", None),
    )
    return application


# --- reminders ----------------------------------------------------------------------------------

REMINDED_VERB = "application.reminded"


@transaction.atomic
def application_remind(*, application: Application, url: str = "", by=None) -> int:
    """Email the organization's members that the application is not submitted and the call closes soon.

    At most once per application and deadline (an extended deadline may be reminded again), recorded
    in the action log as ``application.reminded``. Returns how many people were written to: 0 when
    already reminded, submitted meanwhile, the call is not open, or nobody has an address.
    """
    from django.utils import formats, timezone, translation

    from manifattura.core.models import ActionLog

    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("call", "organization")
        .get(pk=application.pk)
    )
    call = application.call
    if application.status == ApplicationStatus.SUBMITTED or call_phase(call) != CallPhase.OPEN:
        return 0
    deadline = call.closes_at.astimezone(clock.ROME).isoformat()
    if ActionLog.objects.filter(
        verb=REMINDED_VERB, object_type=Application._meta.label_lower, object_id=str(application.pk),
        data__closes_at=deadline,
    ).exists():
        return 0
    by_language: dict[str, list[str]] = {}
    for membership in application.organization.memberships.select_related("user"):
        user = membership.user
        if user.is_active and user.email:
            by_language.setdefault(user.language or settings.LANGUAGE_CODE, []).append(user.email)
    for language, addresses in sorted(by_language.items()):
        with translation.override(language):
            closes_at = formats.date_format(timezone.localtime(call.closes_at, clock.ROME), "DATETIME_FORMAT")
        send_email(
            to=sorted(addresses), subject=gettext_lazy("Your application is not submitted yet"),
            template="calls/email/reminder.txt",
            context={"organization": str(application.organization), "title": call.title, "call": call.code,
                     "closes_at": closes_at, "url": url},
            language=language,
        )
    sent = sum(len(addresses) for addresses in by_language.values())
    if sent:
        audit_record(verb=REMINDED_VERB, actor=by, obj=application, data={"closes_at": deadline, "recipients": sent})
    return sent
