from django.db import models
from django.utils.translation import gettext_lazy as _


class CallKind(models.TextChoices):
    SPACE = "space", _("Space assignment")
    GRANT = "grant", _("Grant")
    INCUBATION = "incubation", _("Incubation admission")


class SelectionMode(models.TextChoices):
    MERIT = "merit", _("Merit (evaluated after the close)")
    FIRST_COME = "first_come", _("First come, first served (a sportello)")


class CallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


CALL_TRANSITIONS: dict[str, set[str]] = {
    CallStatus.DRAFT: {CallStatus.PUBLISHED},
    CallStatus.PUBLISHED: {CallStatus.CANCELLED},
    CallStatus.CANCELLED: set(),
}


class CallPhase(models.TextChoices):
    """Derived from the status and the clock, never stored."""

    DRAFT = "draft", _("In preparation")
    UPCOMING = "upcoming", _("Upcoming")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class SeatRequirement(models.TextChoices):
    NONE = "none", _("No requirement")
    CITY = "city", _("Registered office or operating site in the city")
    PERIPHERY = "periphery", _("Operating site in the periphery")


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", _("Short text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    DATE = "date", _("Date")
    YES_NO = "yes_no", _("Yes / no")
    FILE = "file", _("File")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn (may be submitted again)")


APPLICATION_TRANSITIONS: dict[str, set[str]] = {
    ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED},
    ApplicationStatus.SUBMITTED: {ApplicationStatus.WITHDRAWN},
    ApplicationStatus.WITHDRAWN: {ApplicationStatus.SUBMITTED},
}

EDITABLE_APPLICATION_STATUSES = {ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN}


class RuleOutcome(models.TextChoices):
    PASSED = "passed", _("Satisfied")
    FAILED = "failed", _("Not satisfied")
    REVIEW = "review", _("To be checked by staff")
