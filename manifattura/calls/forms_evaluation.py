"""Forms of the evaluation pages: they read and shape input; ``calls.evaluation`` decides and refuses.

Refusals from the domain (``ValidationError`` by field) are put back on the form with ``add_errors``
so the message shows next to what was typed.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manifattura.accounts.models import User
from manifattura.calls.enums_evaluation import Admissibility, CommissionRole
from manifattura.calls.forms import RomeDateTimeField

TEXTAREA = {"class": "form-control", "rows": 3}


def add_errors(form: forms.Form, exc: ValidationError, *, aliases: dict | None = None) -> None:
    """Put a domain ``ValidationError`` on the form: by field where the form has it, else on top."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for key, problems in exc.message_dict.items():
        field = aliases.get(key, key)
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def points_value(text) -> Decimal | None:
    """Points as typed (a comma is a decimal separator too); None when blank, ValueError when not a number."""
    text = str(text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None


# --- staff ---------------------------------------------------------------------------------------

class AdmissibilityForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"), widget=forms.RadioSelect,
        choices=[(Admissibility.ADMITTED, Admissibility.ADMITTED.label),
                 (Admissibility.NOT_ADMITTED, Admissibility.NOT_ADMITTED.label)],
        error_messages={"required": gettext_lazy("Choose admitted or not admitted.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), required=False, max_length=5000, widget=forms.Textarea(attrs=TEXTAREA),
        help_text=gettext_lazy("Required to exclude: the applicant reads it."),
    )


class IntegrationRequestForm(forms.Form):
    items = forms.CharField(
        label=gettext_lazy("Missing documents, one per line"), max_length=5000,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text=gettext_lazy("The applicant can upload only these documents."),
        error_messages={"required": gettext_lazy("Name at least one missing document.")},
    )
    deadline = RomeDateTimeField(
        label=gettext_lazy("Deadline (Europe/Rome)"),
        error_messages={"required": gettext_lazy("Set the deadline for the documents.")},
    )
    message = forms.CharField(label=gettext_lazy("Message to the applicant (optional)"), required=False,
                              max_length=5000, widget=forms.Textarea(attrs=TEXTAREA))

    def clean_items(self):
        return [line.strip()[:200] for line in self.cleaned_data["items"].splitlines() if line.strip()]


class AppointForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email of the person"),
                             help_text=gettext_lazy("The person must have an account."),
                             widget=forms.EmailInput(attrs={"class": "form-control"}))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=CommissionRole.choices, initial=CommissionRole.MEMBER,
                             widget=forms.Select(attrs={"class": "form-select"}))

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise ValidationError(_("Nobody with the address “%(email)s” has an account: ask them to register first.")
                                  % {"email": email})
        self.user = user
        return email


class AssignmentForm(forms.Form):
    member = forms.TypedChoiceField(label=gettext_lazy("Commission member"), coerce=int)
    assigned = forms.TypedChoiceField(coerce=lambda v: v == "1", choices=[("1", "add"), ("0", "remove")],
                                      widget=forms.HiddenInput)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.pk: m for m in members}
        self.fields["member"].choices = [(m.pk, str(m.user)) for m in members]

    def clean_member(self):
        return self.members[self.cleaned_data["member"]]


class DrawSeedForm(forms.Form):
    seed = forms.CharField(
        label=gettext_lazy("Seed of the public draw"), max_length=128,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=gettext_lazy("At least 8 characters, fixed before the draw (e.g. the numbers of a public lottery "
                               "draw). It is published and can never change."),
    )


class CriterionScoresForm(forms.Form):
    """Points and a comment per criterion (``points_<id>``, ``comment_<id>``); blank points are skipped."""

    comment_label = gettext_lazy("Comment")

    def __init__(self, *args, criteria=(), initial_scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        initial_scores = initial_scores or {}
        for criterion in self.criteria:
            current = initial_scores.get(criterion.pk)
            self.fields[f"points_{criterion.pk}"] = forms.CharField(
                label=criterion.title, required=False, max_length=12,
                initial=current.points if current else None,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control points-input"}),
            )
            self.fields[f"comment_{criterion.pk}"] = forms.CharField(
                label=self.comment_label, required=False, max_length=5000,
                initial=current.comment if current else "", widget=forms.Textarea(attrs=TEXTAREA),
            )

    def clean(self):
        cleaned = super().clean()
        for criterion in self.criteria:
            name = f"points_{criterion.pk}"
            try:
                cleaned[name] = points_value(cleaned.get(name))
            except ValueError:
                self.add_error(name, _("Write the points as a number, e.g. 42 or 42.5."))
        return cleaned

    def rows(self):
        """(criterion, points field, comment field) for the template."""
        return [(c, self[f"points_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.criteria]

    def values(self):
        """(criterion, points, comment) for each criterion given points."""
        return [(c, self.cleaned_data[f"points_{c.pk}"], self.cleaned_data.get(f"comment_{c.pk}", ""))
                for c in self.criteria if self.cleaned_data.get(f"points_{c.pk}") is not None]

    def add_criterion_errors(self, criterion, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(f"points_{criterion.pk}", exc.messages)
            return
        for key, problems in exc.message_dict.items():
            field = f"comment_{criterion.pk}" if key in ("comment", "minutes") else f"points_{criterion.pk}"
            for problem in problems:
                self.add_error(field, problem)


class ConsensusForm(CriterionScoresForm):
    comment_label = gettext_lazy("The commission's comment (the applicant reads it)")
    minutes = forms.CharField(
        label=gettext_lazy("Minutes of the commission's decision"), max_length=10000,
        widget=forms.Textarea(attrs=TEXTAREA),
        error_messages={"required": gettext_lazy("Record the minutes of the commission's decision.")},
    )


class AppealDecisionForm(CriterionScoresForm):
    """Reject, or accept with new final points on some criteria (blank: unchanged)."""

    comment_label = gettext_lazy("Comment")
    accepted = forms.TypedChoiceField(
        label=gettext_lazy("Decision"), widget=forms.RadioSelect, coerce=lambda v: v == "yes",
        choices=[("no", gettext_lazy("Reject")), ("yes", gettext_lazy("Accept and re-score"))],
        error_messages={"required": gettext_lazy("Choose reject or accept.")},
    )
    decision = forms.CharField(
        label=gettext_lazy("Decision and reasons (the applicant reads them)"), max_length=20000,
        widget=forms.Textarea(attrs=TEXTAREA),
        error_messages={"required": gettext_lazy("Write the decision's reasons: the applicant will read them.")},
    )

    def rescores(self) -> dict:
        return {c.code: points for c, points, _comment in self.values()}


# --- commission members --------------------------------------------------------------------------

class ConflictForm(forms.Form):
    has_conflict = forms.TypedChoiceField(
        label=gettext_lazy("Declaration"), widget=forms.RadioSelect, coerce=lambda v: v == "yes",
        choices=[("no", gettext_lazy("I have no conflict of interest with this applicant")),
                 ("yes", gettext_lazy("I have a conflict of interest: exclude me from this application"))],
        error_messages={"required": gettext_lazy("Choose one of the two declarations.")},
    )
    note = forms.CharField(label=gettext_lazy("Note (optional; say why, for a conflict)"), required=False,
                           max_length=5000, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))


class ScoreForm(CriterionScoresForm):
    pass


# --- applicants ----------------------------------------------------------------------------------

class IntegrationUploadForm(forms.Form):
    item = forms.ChoiceField(label=gettext_lazy("Document"), widget=forms.Select(attrs={"class": "form-select"}))
    file = forms.FileField(label=gettext_lazy("File (PDF, PNG or JPEG, up to 20 MB)"),
                           widget=forms.ClearableFileInput(attrs={"class": "form-control",
                                                                  "accept": ".pdf,.png,.jpg,.jpeg"}),
                           error_messages={"required": gettext_lazy("Choose a file to upload."),
                                           "empty": gettext_lazy("The file is empty.")})

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [(item, item) for item in items]
        self.fields["item"].error_messages["invalid_choice"] = _(
            "Upload only the documents requested: %(items)s.") % {"items": ", ".join(items)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise ValidationError(_("The file is %(size).1f MB; the limit is %(max)d MB.") % {
                "size": upload.size / 1048576, "max": 20})
        return upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class AppealForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Grounds of the appeal"), max_length=20000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 6}),
        error_messages={"required": gettext_lazy("Write the grounds of the appeal.")},
    )
    files = MultipleFileField(label=gettext_lazy("Documents (optional; PDF, PNG or JPEG, up to 20 MB each)"),
                              required=False)

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        for upload in files:
            if upload.size > 20 * 1024 * 1024:
                raise ValidationError(_("“%(name)s” is %(size).1f MB; the limit is %(max)d MB.") % {
                    "name": upload.name, "size": upload.size / 1048576, "max": 20})
        return files


class PreferencesForm(forms.Form):
    """A preference number per offered space (1 = most wanted; blank = not wanted)."""

    def __init__(self, *args, spaces=(), current=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.spaces = list(spaces)
        rank_of = {space_id: rank for rank, space_id in enumerate(current, start=1)}
        for space in self.spaces:
            self.fields[f"space_{space.pk}"] = forms.IntegerField(
                label=str(space), required=False, min_value=1, max_value=len(self.spaces),
                initial=rank_of.get(space.pk),
                widget=forms.NumberInput(attrs={"class": "form-control rank-input", "min": 1,
                                                "max": len(self.spaces)}),
            )

    def clean(self):
        cleaned = super().clean()
        ranks = {}
        for space in self.spaces:
            rank = cleaned.get(f"space_{space.pk}")
            if rank is None:
                continue
            if rank in ranks:
                raise ValidationError(_("Give each space a different preference number (%(n)d is used twice).")
                                      % {"n": rank})
            ranks[rank] = space.pk
        cleaned["space_ids"] = [ranks[r] for r in sorted(ranks)]
        return cleaned

    def rows(self):
        return [(space, self[f"space_{space.pk}"]) for space in self.spaces]


class RenounceForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (optional)"), required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
