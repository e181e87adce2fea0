"""Forms of the calls pages: reading posted answers, and the small forms of applicants and staff.

Answers are not validated here: ``domain.application_save_section`` keeps every value and says which
ones to fix, so the page shows what was typed together with the error.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manifattura.calls import answers as form_answers
from manifattura.calls.enums import ApplicationStatus, QuestionKind
from manifattura.calls.models import Call
from manifattura.core import clock

YES, NO = "yes", "no"
TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def field_name(question) -> str:
    return f"q{question.pk}"


@dataclass
class AnswerField:
    """What the page needs to show one question with its current value and error."""

    question: object
    value: object = ""
    error: str = ""
    choices: list = field(default_factory=list)  # (value, label, checked)

    @property
    def name(self) -> str:
        return field_name(self.question)

    @property
    def id(self) -> str:
        return f"id_q{self.question.pk}"

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def limit(self) -> int | None:
        """The character limit shown by the counter of text answers."""
        if self.kind == QuestionKind.SHORT_TEXT:
            return self.question.max_length or form_answers.DEFAULT_SHORT_MAX
        if self.kind == QuestionKind.LONG_TEXT:
            return self.question.max_length or form_answers.DEFAULT_LONG_MAX
        return None

    @property
    def accept(self) -> str:
        return ",".join(f".{t.lower().lstrip('.')}" for t in self.question.allowed_file_types or ())


def _display_value(question, value):
    """The stored answer as the input shows it (invalid values are shown as they were typed)."""
    if form_answers.is_blank(value):
        return [] if question.kind == QuestionKind.MULTIPLE_CHOICE else ""
    if question.kind == QuestionKind.YES_NO:
        if value is True:
            return YES
        if value is False:
            return NO
        return str(value)
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    return str(value)


def answer_error(question, value) -> str:
    """The problem with a stored answer, or "" (blank answers are reported by the checklist)."""
    if form_answers.is_blank(value) or question.kind == QuestionKind.FILE:
        return ""
    spec = form_answers.QuestionSpec(
        id=question.pk, section_id=question.section_id, section_title="", label=question.label,
        kind=question.kind, required=question.required, min_length=question.min_length,
        max_length=question.max_length, min_value=question.min_value, max_value=question.max_value,
        choices=tuple(question.choices or ()),
    )
    try:
        form_answers.clean_answer(spec, value)
    except ValueError as exc:
        return str(exc)
    return ""


def answer_field(question, value, error: str = "") -> AnswerField:
    shown = _display_value(question, value)
    item = AnswerField(question=question, value=shown, error=error or answer_error(question, value))
    if question.kind == QuestionKind.SINGLE_CHOICE:
        item.choices = [(c, c, c == shown) for c in question.choices or ()]
    elif question.kind == QuestionKind.MULTIPLE_CHOICE:
        item.choices = [(c, c, c in shown) for c in question.choices or ()]
    elif question.kind == QuestionKind.YES_NO:
        item.choices = [(YES, _("Yes"), shown == YES), (NO, _("No"), shown == NO)]
    return item


def parse_section(data, questions) -> dict[str, object]:
    """The posted answers of a section's questions (files excluded), keyed by question id.

    A question missing from the post (an unticked set of boxes, no radio chosen) is an empty answer.
    """
    values: dict[str, object] = {}
    for question in questions:
        if question.kind == QuestionKind.FILE:
            continue
        name = field_name(question)
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            values[str(question.pk)] = [v for v in data.getlist(name) if v != ""]
        else:
            values[str(question.pk)] = data.get(name, "")
    return values


def submit_key(data) -> str | None:
    """The one-time token of the page the submit button was on, as an idempotency key."""
    token = (data.get("submit_token") or "").strip().lower()
    return f"web-{token}" if TOKEN_PATTERN.match(token) else None


def declaration_ids(data) -> list[int]:
    return [int(v) for v in data.getlist("declaration") if str(v).isdigit()]


class ApplyForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Apply for"), coerce=int)

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organizations = {org.pk: org for org in organizations}
        self.fields["organization"].choices = [(org.pk, str(org)) for org in organizations]

    def clean_organization(self):
        return self.organizations[self.cleaned_data["organization"]]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        error_messages={"required": gettext_lazy("Choose a file to upload."),
                        "empty": gettext_lazy("The file is empty.")},
    )

    def __init__(self, *args, max_mb: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_mb = max_mb

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Refused before reading it into memory; the content checks run in the domain.
        if upload.size > self.max_mb * 1024 * 1024:
            raise ValidationError(_("The file is %(size).1f MB; the limit is %(max)d MB.") % {
                "size": upload.size / 1048576, "max": self.max_mb})
        return upload


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"), required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Recorded with the withdrawal; staff can read it."),
    )


class RomeDateTimeField(forms.DateTimeField):
    """A date and time typed as Europe/Rome wall-clock time (the legal time of deadlines)."""

    widget = forms.DateTimeInput(
        attrs={"type": "datetime-local", "step": 60, "class": "form-control"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        for fmt in self.input_formats:
            try:
                naive = dt.datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
            return naive.replace(tzinfo=clock.ROME)
        raise ValidationError(_("Write the date and time as YYYY-MM-DD HH:MM (Europe/Rome time)."), code="invalid")

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return value.astimezone(clock.ROME).strftime("%Y-%m-%dT%H:%M")
        return value


class ExtendDeadlineForm(forms.Form):
    new_closes_at = RomeDateTimeField(label=gettext_lazy("New deadline (Europe/Rome)"))
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Published on the call page next to the new deadline."),
        error_messages={"required": gettext_lazy("Write the reason for the extension: it is published with the call.")},
    )


def suggested_copy_code(call) -> str:
    """A free code for a copy of the call: ``<code>-copy``, ``<code>-copy-2``…"""
    base = f"{call.code}-copy"[:34]
    code, number = base, 2
    while Call.objects.filter(code=code).exists():
        code, number = f"{base}-{number}", number + 1
    return code


class CopyCallForm(forms.Form):
    code = forms.SlugField(
        label=gettext_lazy("Code of the new call"), max_length=40,
        help_text=gettext_lazy("Letters, digits and hyphens, e.g. MM-2027-01."),
    )
    title = forms.CharField(label=gettext_lazy("Title (optional)"), max_length=250, required=False)

    def clean_code(self):
        code = self.cleaned_data["code"]
        if Call.objects.filter(code__iexact=code).exists():
            raise ValidationError(
                _("A call with the code “%(code)s” exists already: choose another code.") % {"code": code})
        return code


class SubmissionFilterForm(forms.Form):
    """Filters of the staff list of applications."""

    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False,
        choices=[("", gettext_lazy("Any"))] + list(ApplicationStatus.choices),
    )
    review = forms.ChoiceField(
        label=gettext_lazy("Needs review"), required=False,
        choices=[("", gettext_lazy("Any")), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
    )
    q = forms.CharField(
        label=gettext_lazy("Organization, VAT number or protocol"), required=False, max_length=100,
    )

    def filter(self, applications):
        if not self.is_valid():
            return applications
        data = self.cleaned_data
        if data["status"]:
            applications = applications.filter(status=data["status"])
        if data["review"] == "yes":
            applications = applications.filter(current_submission__needs_review=True)
        elif data["review"] == "no":
            applications = applications.exclude(current_submission__needs_review=True)
        text = data["q"].strip()
        if text:
            query = Q(organization__legal_name__icontains=text) | Q(
                organization__vat_number__icontains=text.upper().removeprefix("IT").replace(" ", "")
            )
            number = re.search(r"(\d+)\s*$", text)
            if number:
                query |= Q(current_submission__protocol=int(number.group(1)))
            applications = applications.filter(query)
        return applications
