"""The calls API under ``/api/v1/``: calls, and the applications organizations (or the intermediaries
who file for firms) prepare and submit.

Authentication: an API token (``Authorization: Token …``, from ``/api/v1/auth/token/``) or the web
session with its CSRF token. Who may act is decided by the ``calls.rules`` permissions (403), and
lists and lookups use the same visibility querysets, so an object one may not see is a 404. Whether
the call's phase or the application's state allows an action is decided by ``calls.domain`` under its
row locks (409 with the reason). Every write goes through ``calls.domain``.

The submit action is the click-day endpoint: it runs the domain function and nothing else but the
authentication, and answers with a small hand-built receipt.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from manifattura.calls import domain, queries, rules
from manifattura.calls.enums import ApplicationStatus, CallPhase, CallStatus
from manifattura.calls.files import FileRejected
from manifattura.calls.models import Application, Call, Question
from manifattura.calls.receipts import receipt_pdf
from manifattura.calls.serializers import (
    AnswersResultSerializer,
    ApplicationCreateSerializer,
    ApplicationDetailSerializer,
    ApplicationFileSerializer,
    ApplicationSerializer,
    CallSerializer,
    CallWriteSerializer,
    DeclarationsSerializer,
    DetailSerializer,
    ExtendDeadlineSerializer,
    FileUploadSerializer,
    ProblemsSerializer,
    ReceiptSerializer,
    SubmissionRefusedSerializer,
    WithdrawSerializer,
    receipt_data,
)
from manifattura.calls.serializers_evaluation import commission_file_name
from manifattura.core import clock

# Token first, so an anonymous request is told (401, WWW-Authenticate: Token) how to authenticate.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]

# Refusals for the call's phase are "not now" (409); the others say what to fix (422).
PHASE_REFUSALS = {CallPhase.DRAFT, CallPhase.UPCOMING, CallPhase.CLOSED, CallPhase.CANCELLED}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class BinaryRenderer(BaseRenderer):
    """Lets downloads be negotiated for any ``Accept``; the views answer them with Django responses."""

    media_type = "*/*"
    format = "bin"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PDFRenderer(BinaryRenderer):
    media_type = "application/pdf"
    format = "pdf"


class ReadOrActionPermission(permissions.BasePermission):
    """Everyone reads; a write needs every ``calls`` permission the view names for the action."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        required = view.action_permissions.get(view.action)
        return bool(user and user.is_authenticated and required and user.has_perms(required))


def _validation_detail(exc: DjangoValidationError):
    """A domain function's ``ValidationError`` as DRF's error body (messages by field)."""
    detail = get_error_detail(exc)
    if not isinstance(detail, dict):
        return {api_settings.NON_FIELD_ERRORS_KEY: detail}
    return {(api_settings.NON_FIELD_ERRORS_KEY if k == "__all__" else k): v for k, v in detail.items()}


class DomainErrorsMixin:
    """Translates the domain's refusals into HTTP answers (one place, the same for every action)."""

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(_validation_detail(exc))
        elif isinstance(exc, domain.NotEditable):
            exc = Conflict(str(exc))
        elif isinstance(exc, PermissionError):
            exc = PermissionDenied(str(exc) or None)
        elif isinstance(exc, FileRejected):
            exc = ValidationError({"file": [str(exc)]})
        # Errors are JSON even when a download was negotiated.
        request = getattr(self, "request", None)
        if isinstance(getattr(request, "accepted_renderer", None), BinaryRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        if isinstance(exc, domain.SubmissionRefused):
            code = status.HTTP_409_CONFLICT if exc.code in PHASE_REFUSALS else status.HTTP_422_UNPROCESSABLE_ENTITY
            return Response({"code": exc.code, "problems": exc.problems}, status=code)
        return super().handle_exception(exc)


# --- calls ---------------------------------------------------------------------------------------

class CallFilter(filters.FilterSet):
    phase = filters.ChoiceFilter(choices=CallPhase.choices, method="filter_phase", label=_("Phase (now)"))
    kind = filters.CharFilter(label=_("Kind"))
    selection_mode = filters.CharFilter(label=_("Selection mode"))

    class Meta:
        model = Call
        fields = ["phase", "kind", "selection_mode"]

    def filter_phase(self, queryset, name, value):
        # The same boundaries as domain.call_phase.
        now = clock.now()
        published = queryset.filter(status=CallStatus.PUBLISHED)
        if value == CallPhase.UPCOMING:
            return published.filter(opens_at__gt=now)
        if value == CallPhase.OPEN:
            return published.filter(opens_at__lte=now, closes_at__gt=now)
        if value == CallPhase.CLOSED:
            return published.filter(closes_at__lte=now)
        return queryset.filter(status=value)  # draft, cancelled


REFUSED = OpenApiResponse(DetailSerializer, description=_("Not allowed for this user."))
NOT_NOW = OpenApiResponse(DetailSerializer, description=_("Not possible in the call's phase or the current state."))


@extend_schema_view(
    list=extend_schema(summary=_("Calls: published ones for everyone, drafts too for staff")),
    retrieve=extend_schema(summary=_("A call with its rules, rubric, declarations, form and offered spaces")),
    create=extend_schema(
        summary=_("Create a draft call (staff)"),
        description=_("Form, rubric, declarations and offered spaces are then set in the staff area."),
        request=CallWriteSerializer, responses={201: CallSerializer},
    ),
    partial_update=extend_schema(
        summary=_("Change a draft call (staff)"), request=CallWriteSerializer,
        responses={200: CallSerializer, 409: NOT_NOW},
    ),
)
class CallViewSet(
    DomainErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Public calls (bandi). Staff also see drafts, create them, publish them and extend deadlines."""

    authentication_classes = AUTHENTICATION
    permission_classes = [ReadOrActionPermission]
    action_permissions = {
        "create": ["calls.manage_call"],
        "partial_update": ["calls.manage_call"],
        "publish": ["calls.manage_call"],
        "extend_deadline": ["calls.manage_call"],
    }
    serializer_class = CallSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CallFilter
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self):
        return queries.calls_for_api(rules.visible_calls(self.request.user))

    def get_serializer_class(self):
        if self.action in {"create", "partial_update"}:
            return CallWriteSerializer
        return CallSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": clock.now()}

    def get_object(self):
        call = super().get_object()
        if not self.request.user.has_perm("calls.view_call", call):
            raise Http404
        return call

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "resources": queries.first_come_resources_by_call(page)}
        return self.get_paginated_response(CallSerializer(page, many=True, context=context).data)

    def _represent(self, call, status_code=status.HTTP_200_OK):
        call = self.get_queryset().get(pk=call.pk)
        return Response(CallSerializer(call, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = CallWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        call = domain.call_create(by=request.user, **serializer.validated_data)
        return self._represent(call, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        call = self.get_object()
        serializer = CallWriteSerializer(call, data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        call = domain.call_update(call=call, by=request.user, **serializer.validated_data)
        return self._represent(call)

    @extend_schema(
        summary=_("Publish a draft call (staff)"),
        description=_("Refused with the list of problems while the call is incomplete."),
        request=None,
        responses={
            200: CallSerializer,
            400: OpenApiResponse(ProblemsSerializer, description=_("The call is not complete.")),
            409: NOT_NOW,
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, code=None):
        call = self.get_object()
        try:
            call = domain.call_publish(call=call, by=request.user)
        except DjangoValidationError as exc:
            return Response({"problems": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return self._represent(call)

    @extend_schema(
        summary=_("Extend a published call's deadline, with the reason (staff)"),
        request=ExtendDeadlineSerializer,
        responses={200: CallSerializer},
    )
    @action(detail=True, methods=["post"], url_path="extend-deadline")
    def extend_deadline(self, request, code=None):
        call = self.get_object()
        change = ExtendDeadlineSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        call = domain.call_extend_deadline(
            call=call, by=request.user, new_closes_at=change.validated_data["closes_at"],
            reason=change.validated_data["reason"],
        )
        return self._represent(call)


# --- applications --------------------------------------------------------------------------------

class ApplicationFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", label=_("Call code"))
    status = filters.ChoiceFilter(choices=ApplicationStatus.choices, label=_("Status"))
    organization = filters.NumberFilter(field_name="organization_id", label=_("Organization id"))

    class Meta:
        model = Application
        fields = ["call", "status", "organization"]


APPLICATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
FILE_ID = OpenApiParameter("file_id", OpenApiTypes.INT, OpenApiParameter.PATH)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description=_(
        "Any unique string (e.g. a UUID) chosen by the client for this submission, at most 100 characters. "
        "A retry with the same key answers with the same receipt and never creates a second submission."
    ),
)
SUBMISSION_PARAMETER = OpenApiParameter(
    "submission", OpenApiTypes.INT, description=_("An earlier version's id (default: the current submission).")
)
SECTION_PARAMETER = OpenApiParameter(
    "section", OpenApiTypes.INT, description=_("Save only questions of this form section (others are refused).")
)


@extend_schema_view(
    list=extend_schema(summary=_("Applications the user may see (staff: all)")),
    retrieve=extend_schema(
        summary=_("An application: answers, declarations, files, checklist, receipt and versions"),
        parameters=[APPLICATION_ID], responses=ApplicationDetailSerializer,
    ),
    create=extend_schema(
        summary=_("Start (or get) an organization's application to a call"),
        description=_(
            "You must act for the organization (intermediaries are members of the firms they file for). "
            "Where the call allows one application per organization, the existing one is returned (200)."
        ),
        request=ApplicationCreateSerializer,
        responses={201: ApplicationDetailSerializer, 200: ApplicationDetailSerializer, 403: REFUSED, 409: NOT_NOW},
    ),
)
class ApplicationViewSet(
    DomainErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Applications to calls, prepared section by section and submitted for a protocol number."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticated]
    serializer_class = ApplicationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApplicationFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        visible = rules.visible_applications(self.request.user)
        if self.action == "list":
            return queries.applications_for_api_list(visible)
        if self.action == "retrieve":
            return queries.applications_for_api_detail(visible)
        return visible.select_related("call", "organization")

    def get_serializer_class(self):
        if self.action == "list":
            return ApplicationSerializer
        return ApplicationDetailSerializer

    def get_object(self):
        application = super().get_object()
        if not self.request.user.has_perm("calls.view_application", application):
            raise Http404
        return application

    def _check(self, perm: str, application: Application) -> None:
        """Who may act is the rules' answer (403); a member refused by the phase or state goes on to the
        domain function, whose row-locked check refuses with the reason (409)."""
        user = self.request.user
        if not user.has_perm(perm, application) and not rules.is_application_member(user, application):
            raise PermissionDenied(_("You do not act for this organization."))

    def _detail(self, application_id: int, status_code=status.HTTP_200_OK) -> Response:
        application = queries.applications_for_api_detail(Application.objects.all()).get(pk=application_id)
        context = self.get_serializer_context()
        return Response(ApplicationDetailSerializer(application, context=context).data, status=status_code)

    def create(self, request, *args, **kwargs):
        start = ApplicationCreateSerializer(data=request.data, context=self.get_serializer_context())
        start.is_valid(raise_exception=True)
        call, organization = start.validated_data["call"], start.validated_data["organization"]
        existing = set(Application.objects.filter(call=call, organization=organization).values_list("pk", flat=True))
        application = domain.application_start(call=call, organization=organization, by=request.user)
        created = application.pk not in existing
        return self._detail(application.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary=_("Save answers (any subset, e.g. one section)"),
        description=_(
            "Body: {\"<question id>\": value, …}. Every value is saved, even one with a problem, so nothing "
            "typed is lost; problems are listed in errors and in the checklist. File questions take uploads."
        ),
        parameters=[APPLICATION_ID, SECTION_PARAMETER],
        request={"application/json": {"type": "object", "additionalProperties": True}},
        responses={200: AnswersResultSerializer, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["patch"], parser_classes=[JSONParser])
    def answers(self, request, pk=None):
        application = self.get_object()
        self._check("calls.change_application", application)
        if not isinstance(request.data, dict):
            raise ValidationError({"answers": [_("Send an object of answers by question id.")]})
        section = request.query_params.get("section")
        if section is not None and not section.isdigit():
            raise ValidationError({"section": [_("Give a section id.")]})
        errors = domain.application_save_section(
            application=application, by=request.user, values=request.data,
            section_id=int(section) if section is not None else None,
        )
        application.refresh_from_db(fields=["answers", "accepted_declarations"])
        checklist = [missing.as_dict() for missing in domain.application_checklist(application)]
        return Response({"errors": errors, "answers": application.answers, "checklist": checklist})

    @extend_schema(
        summary=_("Accept self-declarations (the list replaces the previous one)"),
        parameters=[APPLICATION_ID], request=DeclarationsSerializer,
        responses={200: ApplicationDetailSerializer, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["put"])
    def declarations(self, request, pk=None):
        application = self.get_object()
        self._check("calls.change_application", application)
        accepted = DeclarationsSerializer(data=request.data)
        accepted.is_valid(raise_exception=True)
        domain.application_accept_declarations(
            application=application, by=request.user, declaration_ids=accepted.validated_data["declaration_ids"]
        )
        return self._detail(application.pk)

    @extend_schema(
        summary=_("Upload the file answering a file question"),
        description=_(
            "Checked by content (not by name), size and name; stored privately. Replaces the question's "
            "previous file. Refused files are not stored (400 with the reason)."
        ),
        parameters=[APPLICATION_ID], request={"multipart/form-data": FileUploadSerializer},
        responses={201: ApplicationFileSerializer, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def files(self, request, pk=None):
        application = self.get_object()
        self._check("calls.change_application", application)
        upload = FileUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        uploaded = upload.validated_data["file"]
        # Refuse an oversized file before reading it into memory (the domain checks the size again).
        max_mb = (
            Question.objects.filter(pk=upload.validated_data["question"], section__call_id=application.call_id)
            .values_list("max_file_mb", flat=True).first()
        )
        if max_mb is not None and uploaded.size > max_mb * 1024 * 1024:
            raise FileRejected(_("The file is %(size).1f MB; the limit is %(max)d MB.") % {
                "size": uploaded.size / 1048576, "max": max_mb})
        stored = domain.application_upload_file(
            application=application, by=request.user, question_id=upload.validated_data["question"],
            name=uploaded.name or "", content=uploaded.read(),
        )
        return Response(
            ApplicationFileSerializer(stored, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("Download an uploaded file (the applicant and staff)"),
        parameters=[APPLICATION_ID, FILE_ID, OpenApiParameter("format", exclude=True)], request=None,
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (404, "application/json"): DetailSerializer,
        },
    )
    @action(
        detail=True, methods=["get"], url_path=r"files/(?P<file_id>[0-9]+)", url_name="file-download",
        renderer_classes=[JSONRenderer, BinaryRenderer],
    )
    def file_download(self, request, pk=None, file_id=None):
        application = self.get_object()
        stored = application.files.filter(pk=file_id).select_related("application__organization").first()
        if stored is None:
            raise NotFound()
        if not request.user.has_perm("calls.download_applicationfile", stored):
            raise PermissionDenied()
        name = stored.original_name
        if not request.user.has_perm("calls.see_identity", application):
            # Only staff and the applicant find the application here, and both see who applied; whoever else
            # got here would get the name the commission's own endpoint gives (neutral on anonymous calls).
            name = commission_file_name(application, stored.pk, identity=False)
            if name is None:
                raise NotFound()
        return FileResponse(
            stored.file.open("rb"), as_attachment=True, filename=name,
            content_type=stored.content_type or "application/octet-stream",
        )

    @extend_schema(
        summary=_("Submit: protocol number, receipt instant and digest"),
        description=_(
            "Accepted only while the call is open, by server time. 201 with the receipt when this request "
            "submitted; 200 with the same receipt on a retry (same Idempotency-Key, or already submitted). "
            "409: not now (before opening, after closing: the draft is kept); 422: incomplete or ineligible, "
            "with every problem."
        ),
        parameters=[APPLICATION_ID, IDEMPOTENCY_KEY], request=None,
        responses={
            201: ReceiptSerializer,
            200: ReceiptSerializer,
            403: REFUSED,
            409: OpenApiResponse(SubmissionRefusedSerializer, description=_("Not now: the call is not open.")),
            422: OpenApiResponse(SubmissionRefusedSerializer, description=_("Incomplete or ineligible.")),
        },
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        # Click-day path: the domain function loads and locks the application and checks membership;
        # this view adds no query of its own (a refusal costs one more, to tell 403 from 404).
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 100:
            raise ValidationError({"Idempotency-Key": [_("Use at most 100 characters.")]})
        application_id = int(pk)
        try:
            result = domain.application_submit(
                application=Application(pk=application_id), by=request.user, idempotency_key=key,
                # submit_fast.view has just tried the prepared draft for this request
                try_prepared=not getattr(request, "fast_submit_tried", False),
            )
        except Application.DoesNotExist:
            raise NotFound() from None
        except PermissionError:
            if not rules.visible_applications(request.user).filter(pk=application_id).exists():
                raise NotFound() from None
            raise
        if result.submission.application_id != application_id:
            raise Conflict(_("This Idempotency-Key was used for another application: use a new key."))
        return Response(
            receipt_data(result.submission, request=request),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary=_("Withdraw the submission (before the deadline); the application can be submitted again"),
        parameters=[APPLICATION_ID], request=WithdrawSerializer,
        responses={200: ApplicationDetailSerializer, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        application = self.get_object()
        self._check("calls.withdraw_application", application)
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        domain.application_withdraw(application=application, by=request.user, reason=body.validated_data["reason"])
        return self._detail(application.pk)

    @extend_schema(
        summary=_("The receipt of the current submission (…/receipt.pdf: as PDF)"),
        parameters=[APPLICATION_ID, SUBMISSION_PARAMETER], request=None,
        responses={
            (200, "application/json"): ReceiptSerializer,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (404, "application/json"): DetailSerializer,
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PDFRenderer])
    def receipt(self, request, pk=None, format=None):
        application = self.get_object()
        versions = application.submissions.select_related("call").filter(protocol__isnull=False)
        wanted = request.query_params.get("submission")
        if wanted is not None:
            submission = versions.filter(pk=wanted).first() if wanted.isdigit() else None
        elif application.current_submission_id is not None:
            submission = versions.filter(pk=application.current_submission_id).first()
        else:
            submission = None
        if submission is None:
            raise NotFound(_("This application has no receipt: it has not been submitted."))
        if isinstance(request.accepted_renderer, PDFRenderer):
            response = HttpResponse(receipt_pdf(submission), content_type="application/pdf")
            name = f"receipt-{submission.call.code}-{submission.protocol:06d}.pdf"
            response["Content-Disposition"] = f'inline; filename="{name}"'
            return response
        return Response(receipt_data(submission, request=request))
