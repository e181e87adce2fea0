"""Pages of calls: the public list and call page, the applicant's workspace and receipt, staff's live view.

Views are thin: they read through ``calls.queries``, ask the ``rules`` permissions, call
``calls.domain`` for every change and render. Access (may see, may manage) is asked with
``user.has_perm``; whether an action is possible *now* (the call's phase, the application's state) with
``rules.has_perm``, which no superuser bypasses, so buttons and refusals follow the call's window.
Every refusal is a message that says what to do, and nothing typed is lost: answers are saved even
when they need fixing.
"""

import csv
import io
import secrets

import rules
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from manifattura.calls import domain, eligibility, queries, queries_evaluation_web
from manifattura.calls import forms as calls_forms
from manifattura.calls import rules as calls_rules
from manifattura.calls.enums import CallPhase, CallStatus, QuestionKind, SelectionMode
from manifattura.calls.files import FileRejected, safe_name
from manifattura.calls.models import Application, ApplicationFile, Call, FormSection, Question
from manifattura.calls.receipts import receipt_pdf
from manifattura.core import clock
from manifattura.core.templatetags.core_tags import euro, m2
from manifattura.places.enums import ZoneKind

STAFF_PAGE_SIZE = 50
MY_PAGE_SIZE = 50
LIST_TABS = [CallPhase.OPEN, CallPhase.UPCOMING, CallPhase.CLOSED]


def _deny(request):
    """Anonymous people are sent to log in; everybody else gets 403."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied(_("You may not see or change this."))


def _visible_call(request, code: str) -> Call:
    """The call if the user may see it (the same rule that filters the lists), else 404."""
    call = calls_rules.visible_calls(request.user).filter(code=code).first()
    if call is None:
        raise Http404(_("There is no published call with this code."))
    return call


def _application(pk: int) -> Application:
    try:
        return queries.application_for_page(pk)
    except Application.DoesNotExist:
        raise Http404(_("There is no application with this number.")) from None


def _application_url(application, anchor: str = "") -> str:
    url = reverse("calls:application", args=[application.pk])
    return f"{url}#{anchor}" if anchor else url


# ---------------------------------------------------------------------------------------------------
# Public pages
# ---------------------------------------------------------------------------------------------------


@require_GET
def call_list(request):
    """Published calls in tabs (open, upcoming, closed); staff also see calls in preparation."""
    now = clock.now()
    groups = {phase: [] for phase in LIST_TABS}
    for call in queries.calls_public():
        phase = domain.call_phase(call, now)
        call.phase = phase
        groups[CallPhase.CLOSED if phase == CallPhase.CANCELLED else phase].append(call)
    groups[CallPhase.OPEN].sort(key=lambda c: (c.closes_at, c.pk))
    groups[CallPhase.UPCOMING].sort(key=lambda c: (c.opens_at, c.pk))
    groups[CallPhase.CLOSED].sort(key=lambda c: (c.closes_at or now, c.pk), reverse=True)
    tabs = [{"key": str(p), "label": CallPhase(p).label, "count": len(groups[p])} for p in LIST_TABS]
    drafts = []
    if request.user.has_perm("calls.manage_call"):
        drafts = list(
            calls_rules.visible_calls(request.user).filter(status=CallStatus.DRAFT)
            .annotate(space_count=Count("offered_spaces", distinct=True)).order_by("-updated_at")
        )
        for call in drafts:
            call.phase = CallPhase.DRAFT
        tabs.append({"key": str(CallPhase.DRAFT), "label": CallPhase.DRAFT.label, "count": len(drafts)})
    groups[CallPhase.DRAFT] = drafts
    current = request.GET.get("phase")
    if current not in groups:
        current = next((str(p) for p in LIST_TABS if groups[p]), str(CallPhase.OPEN))
    return render(request, "calls/call_list.html", {
        "tabs": tabs, "current": current, "calls": groups[current], "now": now,
    })


def _map_config(call, spaces) -> dict:
    sites: dict[int, dict] = {}
    for space in spaces:
        site = space.site
        entry = sites.setdefault(site.pk, {
            "lat": site.lat, "lon": site.lon, "name": site.name, "address": site.address,
            "url": reverse("places:site-detail", args=[site.pk]), "spaces": [],
        })
        entry["spaces"].append(f"{space.name} · {m2(space.surface_m2)} · {space.get_use_display()} · "
                               + _("%(fee)s a month") % {"fee": euro(space.monthly_fee)})
    return {
        "center": settings.MANIFATTURA["MAP_CENTER"],
        "zoom": 12,
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "markers": [site for site in sites.values() if site["lat"] or site["lon"]],
        "zonesUrl": reverse("places:zones-geojson", args=[ZoneKind.MUNICIPIO]),
    }


def _resources(call, phase):
    if call.selection_mode != SelectionMode.FIRST_COME or phase in (CallPhase.DRAFT,):
        return None
    return queries.first_come_resources(call)


@require_GET
def call_detail(request, code):
    call = _visible_call(request, code)
    now = clock.now()
    phase = domain.call_phase(call, now)
    spaces = list(call.offered_spaces.select_related("site").order_by("site__name", "floor", "name"))
    my_applications, organizations = [], []
    if request.user.is_authenticated:
        my_applications = list(queries.applications_of_member(request.user).filter(call=call))
        organizations = [m.organization for m in request.user.memberships.select_related("organization")]
    started = {a.organization_id for a in my_applications}
    can_start = [o for o in organizations if not (call.one_per_organization and o.pk in started)]
    context = {
        "call": call,
        "phase": phase,
        "now": now,
        "documents": list(call.documents.all()),
        "rules": eligibility.describe_rules(call),
        "criteria": list(call.criteria.all()),
        "declarations": list(call.declarations.all()),
        "extensions": list(call.extensions.all()),
        "spaces": spaces,
        "map_config": _map_config(call, spaces),
        "resources": _resources(call, phase),
        "my_applications": my_applications,
        "organizations": organizations,
        "apply_form": calls_forms.ApplyForm(organizations=can_start) if can_start else None,
        "accepts_drafts": phase in (CallPhase.UPCOMING, CallPhase.OPEN),
        "can_manage": request.user.has_perm("calls.manage_call", call),
    }
    return render(request, "calls/call_detail.html", context)


@require_GET
def call_resources(request, code):
    """What a first-come call has left (the call page polls it)."""
    call = _visible_call(request, code)
    phase = domain.call_phase(call)
    resources = _resources(call, phase)
    if resources is None:
        raise Http404(_("Only first-come calls report what is left."))
    return render(request, "calls/_resources.html", {"call": call, "phase": phase, "resources": resources})


@require_http_methods(["GET", "POST"])
def apply(request, code):
    """Start the draft for one of the organizations the person acts for, or resume it."""
    call = _visible_call(request, code)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not rules.has_perm("calls.apply_to_call", request.user, call):
        messages.error(request, _(
            "Applications to this call can be prepared only after it is published and before it closes."))
        return redirect("calls:call-detail", code=call.code)
    organizations = [m.organization for m in request.user.memberships.select_related("organization")]
    if not organizations:
        messages.warning(request, _(
            "To apply you must act for an organization. Ask the programme staff to link your account to it."))
        return redirect("calls:call-detail", code=call.code)
    existing = list(queries.applications_of_member(request.user).filter(call=call))
    if request.method == "GET" and len(organizations) == 1 and existing and call.one_per_organization:
        return redirect(_application_url(existing[0]))
    form = calls_forms.ApplyForm(request.POST or None, organizations=organizations,
                                 initial={"organization": organizations[0].pk})
    if request.method == "POST" and form.is_valid():
        try:
            application = domain.application_start(
                call=call, organization=form.cleaned_data["organization"], by=request.user)
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except domain.NotEditable as exc:
            messages.error(request, str(exc))
            return redirect("calls:call-detail", code=call.code)
        return redirect(_application_url(application))
    return render(request, "calls/apply.html", {"call": call, "form": form, "existing": existing})


# ---------------------------------------------------------------------------------------------------
# The applicant's workspace
# ---------------------------------------------------------------------------------------------------


def _section_block(section, application, files, *, errors=None, upload_errors=None, saved=False, refusal=""):
    errors = errors or {}
    upload_errors = upload_errors or {}
    answers = application.answers or {}
    fields, file_fields = [], []
    for question in section.questions.all():
        key = str(question.pk)
        if question.kind == QuestionKind.FILE:
            current = [files[i] for i in (answers.get(key) or []) if isinstance(i, int) and i in files]
            file_fields.append({
                "question": question, "files": current, "error": upload_errors.get(question.pk, ""),
                "field": calls_forms.AnswerField(question=question),
            })
        else:
            fields.append(calls_forms.answer_field(question, answers.get(key), errors.get(key, "")))
    return {
        "section": section, "fields": fields, "file_fields": file_fields,
        "saved_at": application.updated_at if saved else None, "refusal": refusal,
        "has_errors": any(f.error for f in fields),
    }


def _workspace_context(request, application, *, errors=None, upload_errors=None, submit_problems=None,
                       saved_section=None, refusal="", saved_declarations=False):
    call = application.call
    user = request.user
    phase = domain.call_phase(call)
    is_member = calls_rules.is_application_member(user, application)
    can_edit = is_member and calls_rules.application_is_editable(user, application)
    files = {f.pk: f for f in application.files.all()}
    blocks = [
        _section_block(section, application, files, errors=errors, upload_errors=upload_errors,
                       saved=section.pk == saved_section, refusal=refusal if section.pk == saved_section else "")
        for section in call.sections.prefetch_related("questions")
    ]
    declarations = list(call.declarations.all())
    accepted = set(application.accepted_declarations or [])
    return {
        "application": application,
        "call": call,
        "phase": phase,
        "now": clock.now(),
        "is_member": is_member,
        "can_edit": can_edit,
        "can_submit": is_member and calls_rules.application_can_be_submitted(user, application),
        "can_withdraw": is_member and calls_rules.application_can_be_withdrawn(user, application),
        "blocks": blocks,
        "declarations": [{"declaration": d, "accepted": d.pk in accepted} for d in declarations],
        "declarations_saved_at": application.updated_at if saved_declarations else None,
        "declarations_refusal": refusal if saved_declarations else "",
        "checklist": domain.application_checklist(application),
        "submit_problems": submit_problems or [],
        "submit_token": secrets.token_hex(16),
        "versions": list(queries.application_versions(application)),
        "current": application.current_submission,
    }


def _viewable_application(request, pk):
    application = _application(pk)
    if not request.user.has_perm("calls.view_application", application):
        return application, _deny(request)
    return application, None


@require_GET
def application_page(request, pk):
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    return render(request, "calls/application.html", _workspace_context(request, application))


def _require_member(request, application):
    if not calls_rules.is_application_member(request.user, application):
        raise PermissionDenied(_("Only the people who act for the organization can change its application."))


@require_POST
def section_save(request, pk, section_id):
    """Save one section's answers (htmx: returns the section and the checklist; plain POST: redirect)."""
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    _require_member(request, application)
    section = FormSection.objects.filter(pk=section_id, call=application.call).prefetch_related("questions").first()
    if section is None:
        raise Http404(_("This section is not part of the call's form."))
    values = calls_forms.parse_section(request.POST, section.questions.all())
    refusal = ""
    errors = {}
    try:
        errors = domain.application_save_section(
            application=application, by=request.user, values=values, section_id=section.pk)
    except PermissionError:
        raise PermissionDenied(_("You do not act for this organization.")) from None
    except domain.NotEditable as exc:
        refusal = str(exc)
    application = _application(pk)
    if request.htmx:
        context = _workspace_context(request, application, errors=errors, saved_section=section.pk, refusal=refusal)
        context["block"] = next(b for b in context["blocks"] if b["section"].pk == section.pk)
        return render(request, "calls/_section_response.html", context)
    if refusal:
        messages.error(request, refusal)
    elif errors:
        messages.warning(request, _(
            "“%(section)s” saved. Some answers need fixing: see the notes next to them.") % {"section": section.title})
    else:
        messages.success(request, _("“%(section)s” saved.") % {"section": section.title})
    return redirect(_application_url(application, f"section-{section.pk}"))


@require_POST
def file_upload(request, pk, question_id):
    """Check and store a file for a file question; a refused file is reported on the question."""
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    _require_member(request, application)
    question = Question.objects.filter(
        pk=question_id, section__call=application.call, kind=QuestionKind.FILE).first()
    if question is None:
        raise Http404(_("This question does not take files."))
    form = calls_forms.UploadForm(request.POST, request.FILES, max_mb=question.max_file_mb)
    error = ""
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            domain.application_upload_file(
                application=application, by=request.user, question_id=question.pk, name=upload.name,
                content=upload.read(),
            )
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except (FileRejected, domain.NotEditable) as exc:
            error = str(exc)
    else:
        error = " ".join(str(e) for e in form.errors.get("file", [])) or _("Choose a file to upload.")
    application = _application(pk)
    upload_errors = {question.pk: error} if error else {}
    if request.htmx:
        context = _workspace_context(request, application, upload_errors=upload_errors)
        block = next(b for b in context["blocks"] if b["section"].pk == question.section_id)
        context["item"] = next(f for f in block["file_fields"] if f["question"].pk == question.pk)
        context["saved_file"] = not error
        return render(request, "calls/_file_response.html", context)
    if error:
        messages.error(request, _("The file was not accepted: %(reason)s") % {"reason": error})
        return render(request, "calls/application.html",
                      _workspace_context(request, application, upload_errors=upload_errors))
    messages.success(request, _("File received."))
    return redirect(_application_url(application, f"q-{question.pk}"))


@require_POST
def declarations_save(request, pk):
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    _require_member(request, application)
    refusal = ""
    try:
        domain.application_accept_declarations(
            application=application, by=request.user, declaration_ids=calls_forms.declaration_ids(request.POST))
    except PermissionError:
        raise PermissionDenied(_("You do not act for this organization.")) from None
    except domain.NotEditable as exc:
        refusal = str(exc)
    application = _application(pk)
    if request.htmx:
        context = _workspace_context(request, application, saved_declarations=True, refusal=refusal)
        return render(request, "calls/_declarations_response.html", context)
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, _("Self-declarations saved."))
    return redirect(_application_url(application, "declarations"))


@require_POST
def submit(request, pk):
    """Submit with the page's one-time token as idempotency key: a double click gets the same receipt."""
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    _require_member(request, application)
    try:
        result = domain.application_submit(
            application=application, by=request.user, idempotency_key=calls_forms.submit_key(request.POST))
    except PermissionError:
        raise PermissionDenied(_("You do not act for this organization.")) from None
    except domain.SubmissionRefused as exc:
        application = _application(pk)
        context = _workspace_context(request, application, submit_problems=exc.problems)
        return render(request, "calls/application.html", context)
    submission = result.submission
    if submission.withdrawn_at is not None:
        # The button was pressed on a page from before a withdrawal: nothing new was submitted.
        messages.warning(request, _(
            "That page was out of date: its submission has since been withdrawn. Check your answers and submit again."))
        return redirect(_application_url(application, "submit"))
    if result.created:
        messages.success(request, _("Your application was received with protocol number %(protocol)s.") % {
            "protocol": submission.protocol_label})
    else:
        messages.info(request, _("Your application had already been received: here is its receipt."))
    return redirect("calls:receipt", pk=application.pk)


@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    _require_member(request, application)
    if not rules.has_perm("calls.withdraw_application", request.user, application):
        messages.error(request, _(
            "Only a submitted application can be withdrawn, and only before the call closes."))
        return redirect(_application_url(application))
    form = calls_forms.WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain.application_withdraw(application=application, by=request.user, reason=form.cleaned_data["reason"])
        except PermissionError:
            raise PermissionDenied(_("You do not act for this organization.")) from None
        except domain.NotEditable as exc:
            messages.error(request, str(exc))
            return redirect(_application_url(application))
        messages.success(request, _(
            "The submission was withdrawn. Your draft is kept: change it and submit again before the deadline."))
        return redirect(_application_url(application))
    return render(request, "calls/withdraw.html", {
        "application": application, "call": application.call, "submission": application.current_submission,
        "form": form,
    })


def _receipt_submission(request, application):
    versions = queries.application_versions(application).select_related("call")
    chosen = request.GET.get("submission")
    if chosen and chosen.isdigit():
        submission = versions.filter(pk=int(chosen)).first()
    elif application.current_submission_id:
        submission = versions.filter(pk=application.current_submission_id).first()
    else:
        submission = versions.last()
    if submission is None:
        raise Http404(_("This application has no submission yet, so there is no receipt."))
    return submission


@require_GET
def receipt(request, pk):
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    submission = _receipt_submission(request, application)
    return render(request, "calls/receipt.html", {
        "application": application,
        "call": application.call,
        "submission": submission,
        "position": queries.first_come_position(submission),
        "versions": list(queries.application_versions(application)),
    })


@require_GET
def receipt_pdf_download(request, pk):
    application, denied = _viewable_application(request, pk)
    if denied:
        return denied
    submission = _receipt_submission(request, application)
    response = HttpResponse(receipt_pdf(submission), content_type="application/pdf")
    filename = f"receipt-{submission.call.code}-{submission.protocol:06d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def my_applications(request):
    applications = queries.applications_of_member(request.user)
    page = Paginator(applications, MY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    now = clock.now()
    for application in rows:
        application.phase = domain.call_phase(application.call, now)
        if application.current_submission:
            application.current_submission.call = application.call
    return render(request, "calls/my_applications.html", {
        "page_obj": page, "applications": rows,
        "has_organization": request.user.memberships.exists(),
    })


@require_GET
def file_download(request, pk):
    """A private application file (rule ``download_applicationfile``): its organization's members and staff
    under its own name; the call's commission as the review pages serve it (``calls_eval:review-file``):
    only a submitted file, under a neutral name where the review is anonymous."""
    stored = ApplicationFile.objects.select_related(
        "application__organization", "application__call", "application__current_submission").filter(pk=pk).first()
    if stored is None:
        raise Http404(_("There is no file with this number."))
    user = request.user
    if not user.has_perm("calls.download_applicationfile", stored):
        return _deny(request)
    name = stored.original_name
    if not (calls_rules.is_staff(user) or calls_rules.is_file_owner_member(user, stored)):
        name = queries_evaluation_web.review_file_name(user, stored)
        if name is None:
            raise Http404(_("This file is not part of the submitted application."))
    try:
        handle = stored.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from the storage: tell the programme staff.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=safe_name(name) or "file",
        content_type=stored.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------------
# Staff during the call
# ---------------------------------------------------------------------------------------------------


def _managed_call(request, code):
    call = _visible_call(request, code)
    if not request.user.has_perm("calls.manage_call", call):
        return call, _deny(request)
    return call, None


def _staff_applications(request, call):
    filter_form = calls_forms.SubmissionFilterForm(request.GET or None)
    applications = filter_form.filter(queries.applications_for_staff(call)).order_by(
        F("current_submission__protocol").asc(nulls_last=True), "organization__legal_name", "id")
    return filter_form, applications


def _manage_context(request, call, **extra):
    filter_form, applications = _staff_applications(request, call)
    page = Paginator(applications, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for application in rows:
        if application.current_submission:
            application.current_submission.call = call  # protocol labels without a query per row
    phase = domain.call_phase(call)
    context = {
        "call": call,
        "phase": phase,
        "counts": queries.call_counts(call),
        "filter_form": filter_form,
        "page_obj": page,
        "applications": rows,
        "filter_query": request.GET.urlencode(),
        "publish_problems": domain.call_publish_problems(call) if call.status == CallStatus.DRAFT else [],
        "extend_form": calls_forms.ExtendDeadlineForm(initial={"new_closes_at": call.closes_at})
        if call.status == CallStatus.PUBLISHED else None,
        "copy_form": calls_forms.CopyCallForm(initial={"code": calls_forms.suggested_copy_code(call)}),
        "resources": _resources(call, phase),
        "extensions": list(call.extensions.all()),
    }
    context.update(extra)
    return context


@require_GET
def manage(request, code):
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    return render(request, "calls/manage.html", _manage_context(request, call))


@require_GET
def manage_export_csv(request, code):
    """The filtered applications for spreadsheets: UTF-8 with BOM, ``;`` separated."""
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    _form, applications = _staff_applications(request, call)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([
        _("Protocol"), _("Received at (Europe/Rome)"), _("Organization"), _("VAT number"), _("Status"),
        _("Needs review"), _("SHA-256 digest"), _("Requested amount (EUR)"), _("Versions"),
    ])
    yes, no = _("yes"), _("no")
    for application in applications.iterator(chunk_size=500):
        submission = application.current_submission
        received = ""
        if submission:
            submission.call = call
            local = timezone.localtime(submission.received_at, clock.ROME)
            received = local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        writer.writerow([
            submission.protocol_label if submission else "",
            received,
            application.organization.legal_name,
            application.organization.vat_number,
            application.get_status_display(),
            (yes if submission.needs_review else no) if submission else "",
            submission.digest if submission else "",
            formats.number_format(submission.requested_amount, decimal_pos=2, use_l10n=True)
            if submission and submission.requested_amount is not None else "",
            application.version_count,
        ])
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    filename = f"applications-{call.code}-{clock.local_now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def manage_application(request, code, pk):
    """An application's full record for staff: answers, files, every version, eligibility, audit log."""
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    application = queries.applications_for_staff(call).filter(pk=pk).first()
    if application is None:
        raise Http404(_("There is no application with this number in this call."))
    sections = list(call.sections.prefetch_related("questions"))
    files = list(application.files.select_related("uploaded_by", "question"))
    by_id = {f.pk: f for f in files}
    answers = []
    for section in sections:
        for question in section.questions.all():
            value = application.answers.get(str(question.pk))
            answers.append({
                "section": section, "question": question, "value": value,
                "files": [by_id[i] for i in value or [] if isinstance(i, int) and i in by_id]
                if question.kind == QuestionKind.FILE else [],
                "error": calls_forms.answer_error(question, value),
            })
    versions = list(queries.application_versions(application).select_related("submitted_by"))
    for version in versions:
        version.call = call
    return render(request, "calls/manage_application.html", {
        "call": call,
        "application": application,
        "answers": answers,
        "files": files,
        "current_file_ids": {i for a in answers for i in [f.pk for f in a["files"]]},
        "versions": versions,
        "declarations": list(call.declarations.all()),
        "checklist": domain.application_checklist(application),
        "actions": list(queries.application_actions(application)),
        "members": list(application.organization.memberships.select_related("user")),
    })


@require_POST
def manage_publish(request, code):
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    if not rules.has_perm("calls.publish_call", request.user, call):
        messages.error(request, _("The call is already published."))
        return redirect("calls:manage", code=call.code)
    try:
        domain.call_publish(call=call, by=request.user)
    except ValidationError as exc:
        call.refresh_from_db()
        return render(request, "calls/manage.html", _manage_context(request, call, publish_refused=exc.messages))
    except domain.NotEditable as exc:
        messages.error(request, str(exc))
        return redirect("calls:manage", code=call.code)
    messages.success(request, _("The call is published: it is on the public list and applicants can prepare drafts."))
    return redirect("calls:manage", code=call.code)


@require_POST
def manage_extend(request, code):
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    if not rules.has_perm("calls.extend_call", request.user, call):
        messages.error(request, _("Only a published call's deadline can be extended."))
        return redirect("calls:manage", code=call.code)
    form = calls_forms.ExtendDeadlineForm(request.POST)
    if form.is_valid():
        try:
            domain.call_extend_deadline(
                call=call, by=request.user, new_closes_at=form.cleaned_data["new_closes_at"],
                reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for key, problems in exc.message_dict.items():
                for problem in problems:
                    form.add_error("reason" if key == "reason" else "new_closes_at", problem)
        else:
            messages.success(request, _("The deadline was extended; the reason is shown on the call page."))
            return redirect("calls:manage", code=call.code)
    call.refresh_from_db()
    return render(request, "calls/manage.html", _manage_context(request, call, extend_form=form))


@require_POST
def manage_copy(request, code):
    call, denied = _managed_call(request, code)
    if denied:
        return denied
    form = calls_forms.CopyCallForm(request.POST)
    if form.is_valid():
        try:
            copy = domain.call_copy(call=call, by=request.user, code=form.cleaned_data["code"],
                                    title=form.cleaned_data["title"] or None)
        except ValidationError as exc:
            for problem in exc.messages:
                form.add_error("code", problem)
        else:
            messages.success(request, _(
                "The call was copied as “%(code)s”, a draft: set its dates, check it and publish it."
            ) % {"code": copy.code})
            return redirect("admin:calls_call_change", copy.pk)
    return render(request, "calls/manage.html", _manage_context(request, call, copy_form=form))
