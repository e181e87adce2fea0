"""The application form as data: validating answers and listing what is still missing."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from manifattura.calls.enums import QuestionKind
from manifattura.core.money import plain_number

DEFAULT_SHORT_MAX = 200
DEFAULT_LONG_MAX = 10000


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    section_id: int
    section_title: str
    label: str
    kind: str
    required: bool
    min_length: int | None = None
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    choices: tuple = ()
    allowed_file_types: tuple = ()
    max_file_mb: int = 10
    is_requested_amount: bool = False

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class FormSpec:
    call_id: int
    questions: tuple[QuestionSpec, ...]
    declaration_ids: tuple[int, ...] = ()
    section_ids: tuple[int, ...] = field(default=())

    def by_key(self) -> dict[str, QuestionSpec]:
        return {q.key: q for q in self.questions}

    def in_section(self, section_id: int) -> list[QuestionSpec]:
        return [q for q in self.questions if q.section_id == section_id]


def form_spec(call) -> FormSpec:
    """Read the call's form once (two queries)."""
    from manifattura.calls.models import Question

    questions = tuple(
        QuestionSpec(
            id=q.pk, section_id=q.section_id, section_title=q.section.title, label=q.label, kind=q.kind,
            required=q.required, min_length=q.min_length, max_length=q.max_length, min_value=q.min_value,
            max_value=q.max_value, choices=tuple(q.choices or ()),
            allowed_file_types=tuple(t.lower().lstrip(".") for t in (q.allowed_file_types or ())),
            max_file_mb=q.max_file_mb, is_requested_amount=q.is_requested_amount,
        )
        for q in Question.objects.filter(section__call=call).select_related("section")
        .order_by("section__order", "section_id", "order", "id")
    )
    sections = tuple(dict.fromkeys(q.section_id for q in questions))
    declarations = tuple(call.declarations.order_by("order", "id").values_list("id", flat=True))
    return FormSpec(call_id=call.pk, questions=questions, declaration_ids=declarations, section_ids=sections)


def is_blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def clean_answer(question: QuestionSpec, value):
    """Return the normalized value, or raise ValueError with a message that says what to fix.

    Blank values are allowed here (drafts may be incomplete); required-ness is checked at submission.
    """
    if is_blank(value):
        return None
    kind = question.kind
    if kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
        text = str(value).strip()
        limit = question.max_length or (DEFAULT_SHORT_MAX if kind == QuestionKind.SHORT_TEXT else DEFAULT_LONG_MAX)
        if len(text) > limit:
            raise ValueError(_("Write at most %(limit)d characters (now %(count)d).") % {"limit": limit, "count": len(text)})
        if question.min_length and len(text) < question.min_length:
            raise ValueError(
                _("Write at least %(limit)d characters (now %(count)d).") % {"limit": question.min_length, "count": len(text)}
            )
        return text
    if kind == QuestionKind.NUMBER:
        try:
            number = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Write a number, for example 1500 or 1500,50.")) from None
        if not number.is_finite():
            raise ValueError(_("Write a number, for example 1500 or 1500,50."))
        if question.min_value is not None and number < question.min_value:
            raise ValueError(_("The number must be at least %(min)s.") % {"min": plain_number(question.min_value)})
        if question.max_value is not None and number > question.max_value:
            raise ValueError(_("The number must be at most %(max)s.") % {"max": plain_number(question.max_value)})
        return str(number)
    if kind == QuestionKind.SINGLE_CHOICE:
        if str(value) not in question.choices:
            raise ValueError(_("Choose one of the options offered."))
        return str(value)
    if kind == QuestionKind.MULTIPLE_CHOICE:
        values = value if isinstance(value, list) else [value]
        values = [str(v) for v in values]
        unknown = [v for v in values if v not in question.choices]
        if unknown:
            raise ValueError(_("Choose only among the options offered."))
        return values
    if kind == QuestionKind.DATE:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(_("Write a date as YYYY-MM-DD.")) from None
    if kind == QuestionKind.YES_NO:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"yes", "true", "1", "si", "sì", "on"}:
            return True
        if text in {"no", "false", "0", "off"}:
            return False
        raise ValueError(_("Answer yes or no."))
    if kind == QuestionKind.FILE:
        # File answers are set by the upload function, never typed: a list of file ids.
        ids = value if isinstance(value, list) else [value]
        try:
            return [int(v) for v in ids]
        except (TypeError, ValueError):
            raise ValueError(_("Upload the file again.")) from None
    raise ValueError(_("Unknown question kind."))


@dataclass(frozen=True)
class Missing:
    question_id: int | None
    section_title: str
    label: str
    problem: str

    def as_dict(self) -> dict:
        return {"question": self.question_id, "section": self.section_title, "label": self.label, "problem": self.problem}


def checklist(spec: FormSpec, answers: dict, accepted_declarations: list, file_ids: set[int]) -> list[Missing]:
    """What still stops the application from being submitted (empty list: complete)."""
    missing: list[Missing] = []
    for question in spec.questions:
        value = answers.get(question.key)
        if is_blank(value):
            if question.required:
                missing.append(Missing(question.id, question.section_title, question.label, _("Required: please answer.")))
            continue
        try:
            cleaned = clean_answer(question, value)
        except ValueError as exc:
            missing.append(Missing(question.id, question.section_title, question.label, str(exc)))
            continue
        if question.kind == QuestionKind.FILE and not set(cleaned) <= file_ids:
            missing.append(Missing(question.id, question.section_title, question.label, _("Upload the file again.")))
    accepted = {int(d) for d in accepted_declarations or []}
    for number, declaration_id in enumerate(spec.declaration_ids, start=1):
        if declaration_id not in accepted:
            missing.append(Missing(None, _("Self-declarations"), _("Declaration %(n)d") % {"n": number},
                                   _("Accept the self-declaration to submit.")))
    return missing


def requested_amount(spec: FormSpec, answers: dict) -> Decimal | None:
    for question in spec.questions:
        if question.is_requested_amount and not is_blank(answers.get(question.key)):
            try:
                return Decimal(str(answers[question.key])).quantize(Decimal("0.01"))
            except InvalidOperation:
                return None
    return None
