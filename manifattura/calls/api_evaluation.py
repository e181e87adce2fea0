"""The evaluation API under ``/api/v1/``: after a call closes, from admissibility to concessions.

- Public: a call's published rankings, their entries and the published CSV (``calls/{code}/rankings/``).
- Staff: admissibility and requests for integration, the commission, review assignments, final scores,
  the draw seed, ranking publication, allocation and expiries (``evaluation/applications/``,
  ``calls/{code}/evaluation/…``, ``calls/{code}/commission/``); staff and the president decide appeals
  (``appeals/``).
- Commission members: their assignments and scores (``reviews/``), the call's applications and their
  conflict declarations (``reviews/applications/``). On anonymous calls nothing they can fetch names
  the organization: a neutral label, neutral file names, identity fields left out.
- Applicants: the outcome of their application with the reasons, documents requested, appeals and
  space preferences (``outcomes/{application id}/``), and their awards (``awards/``).

The same conventions as ``calls.api``: token or session authentication; ``calls.rules`` decide who may
act (403) and visibility querysets what exists for the user (404); ``calls.evaluation`` does every
write, and its refusals become 400 (what to fix, by field), 409 (not now) or 403.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from manifattura.accounts.models import Membership
from manifattura.accounts.rules import is_staff
from manifattura.calls import evaluation, rules
from manifattura.calls import queries_evaluation as queries
from manifattura.calls import ranking as rk
from manifattura.calls import serializers_evaluation as ser
from manifattura.calls.api import (
    AUTHENTICATION,
    NOT_NOW,
    REFUSED,
    BinaryRenderer,
    Conflict,
    DomainErrorsMixin,
)
from manifattura.calls.enums_evaluation import AppealStatus, AwardStatus, RankingKind
from manifattura.calls.files import FileRejected
from manifattura.calls.models import (
    Appeal,
    Application,
    ApplicationFile,
    Award,
    Call,
    CommissionMember,
    Ranking,
    ReviewAssignment,
)
from manifattura.calls.serializers import DetailSerializer
from manifattura.core import clock
from manifattura.core.api import validation_error_detail

app_name = "calls-evaluation-api"

MAX_UPLOAD_MB = 20  # what calls.evaluation accepts for integration documents and appeal files
CALL_CODE = r"[-a-zA-Z0-9_]+"

CODE = OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description=_("The call's code."))
KIND = OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=RankingKind.values)
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
FILE_ID = OpenApiParameter("file_id", OpenApiTypes.INT, OpenApiParameter.PATH)
REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                              description=_("The request for integration."))
DOCUMENT_ID = OpenApiParameter("document_id", OpenApiTypes.INT, OpenApiParameter.PATH)
CALL_FILTER = OpenApiParameter("call", OpenApiTypes.STR, required=True, description=_("The call's code."))
NO_FORMAT = OpenApiParameter("format", exclude=True)
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description=_(
    "What to fix: messages by field (scores: by criterion code, then by field)."))
DOWNLOAD = {
    (200, "application/octet-stream"): OpenApiTypes.BINARY,
    (403, "application/json"): DetailSerializer,
    (404, "application/json"): DetailSerializer,
}


class CSVRenderer(BinaryRenderer):
    media_type = "text/csv"
    format = "csv"


class ReadOrAuthenticated(permissions.BasePermission):
    """Anyone reads where the view allows it; writes need a signed-in user (then the rules decide)."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_authenticated)


def identity_checker(user):
    """``calls.see_identity`` for many applications at once (one query for the user's organizations)."""
    if is_staff(user):
        return lambda application: True
    organizations = set()
    if user and user.is_authenticated:
        organizations = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    return lambda application: application.organization_id in organizations or not application.call.anonymous_review


def single_identity(user, application):
    allowed = user.has_perm("calls.see_identity", application)
    return lambda _application: allowed


def file_url_for(request, application):
    """The commission's download address of a submitted file of ``application``."""
    def url(file_id):
        return ser.absolute(request, reverse("calls-evaluation-api:commission-application-file",
                                             kwargs={"pk": application.pk, "file_id": file_id}))
    return url


def commission_view(request, application, context) -> Response:
    """An application as the commission reads it: identity and scores as the rules allow the user."""
    identity = request.user.has_perm("calls.see_identity", application)
    content = ser.application_content(application, identity=identity, file_url=file_url_for(request, application))
    context = {**context, "identity": lambda _a: identity, "content": content,
               "show_scores": request.user.has_perm("calls.view_scores", application)}
    return Response(ser.CommissionApplicationDetailSerializer(application, context=context).data)


def download(stored_file, *, name: str, content_type: str) -> FileResponse:
    return FileResponse(stored_file.open("rb"), as_attachment=True, filename=name,
                        content_type=content_type or "application/octet-stream")


class EvaluationViewSet(DomainErrorsMixin, viewsets.GenericViewSet):
    authentication_classes = AUTHENTICATION
    permission_classes = [permissions.IsAuthenticated]

    def handle_exception(self, exc):
        if isinstance(exc, rk.RankingError):
            exc = Conflict(str(exc))
        return super().handle_exception(exc)

    def require(self, perm: str, obj=None, message=None) -> None:
        if not self.request.user.has_perm(perm, obj):
            raise PermissionDenied(message)

    def visible_call(self) -> Call:
        call = rules.visible_calls(self.request.user).filter(code=self.kwargs["code"]).first()
        if call is None or not self.request.user.has_perm("calls.view_call", call):
            raise NotFound()
        return call

    def body(self, serializer_class, **kwargs):
        body = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def save_by_criterion(self, data, input_serializer, save) -> None:
        """Validate ``{criterion code: {...}}`` and save every criterion in one transaction, or none:
        every problem is reported under its criterion's code."""
        if not isinstance(data, dict) or not data:
            raise ValidationError({"non_field_errors": [_("Send an object of scores by criterion code.")]})
        parsed, errors = {}, {}
        for code, value in data.items():
            item = input_serializer(data=value if isinstance(value, dict) else {})
            if item.is_valid():
                parsed[code] = item.validated_data
            else:
                errors[code] = item.errors
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            for code, values in parsed.items():
                try:
                    save(code, values)
                except DjangoValidationError as exc:
                    errors[code] = validation_error_detail(exc)
            if errors:
                transaction.set_rollback(True)
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def criteria_by_code(call) -> dict:
        return {c.code: c for c in call.criteria.all()}


def check_size(uploaded) -> None:
    if uploaded.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise FileRejected(_("The file is %(size).1f MB; the limit is %(max)d MB.") % {
            "size": uploaded.size / 1048576, "max": MAX_UPLOAD_MB})


# --- public rankings -------------------------------------------------------------------------------

@extend_schema(parameters=[CODE])
@extend_schema_view(
    list=extend_schema(summary=_("A call's published rankings: seed, digest of the inputs, changes")),
    retrieve=extend_schema(
        summary=_("A published ranking with its entries (names only where the call publishes them)"),
        parameters=[KIND], responses=ser.RankingDetailSerializer,
    ),
    create=extend_schema(
        summary=_("Publish the provisional or the final ranking (staff)"),
        description=_("Computed from the stored final scores; the final ranking only after the appeal window "
                      "and once every appeal is decided."),
        request=ser.RankingPublishSerializer,
        responses={201: ser.RankingDetailSerializer, 403: REFUSED, 409: NOT_NOW},
    ),
)
class RankingViewSet(EvaluationViewSet):
    """Published rankings (graduatorie): public, reproducible from the seed and the CSV."""

    permission_classes = [ReadOrAuthenticated]
    queryset = Ranking.objects.none()
    serializer_class = ser.RankingSerializer
    pagination_class = None
    filter_backends = []
    lookup_field = "kind"
    lookup_value_regex = "[a-z]+"

    def get_object(self) -> Ranking:
        ranking = queries.rankings_of(self.visible_call()).filter(kind=self.kwargs["kind"]).first()
        if ranking is None:
            raise NotFound(_("This ranking is not published."))
        return ranking

    def _detail(self, ranking, status_code=status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), "publish_names": ranking.call.publish_names,
                   "entries": queries.ranking_entries(ranking)}
        return Response(ser.RankingDetailSerializer(ranking, context=context).data, status=status_code)

    def list(self, request, code=None):
        rankings = queries.rankings_of(self.visible_call())
        return Response(ser.RankingSerializer(rankings, many=True, context=self.get_serializer_context()).data)

    def retrieve(self, request, code=None, kind=None):
        return self._detail(self.get_object())

    def create(self, request, code=None):
        call = self.visible_call()
        self.require("calls.manage_evaluation", call)
        kind = self.body(ser.RankingPublishSerializer)["kind"]
        ranking = evaluation.ranking_publish(call=call, kind=kind, by=request.user)
        return self._detail(queries.rankings_of(call).get(pk=ranking.pk), status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("The published CSV of a ranking, as stored (repeat the ranking from it alone)"),
        parameters=[KIND, NO_FORMAT], request=None,
        responses={(200, "text/csv"): OpenApiTypes.STR, (404, "application/json"): DetailSerializer},
    )
    def csv(self, request, code=None, kind=None):
        ranking = self.get_object()
        response = HttpResponse(ranking.csv, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="ranking-{ranking.call.code}-{ranking.kind}.csv"'
        return response


# --- staff: call-level steps -----------------------------------------------------------------------

def _step(summary, request=None, responses=None, description=None):
    return extend_schema(
        summary=summary, description=description, request=request,
        responses=responses or {200: ser.ActionResultSerializer, 403: REFUSED, 409: NOT_NOW},
    )


@extend_schema(parameters=[CODE])
class CallEvaluationViewSet(EvaluationViewSet):
    """A call's evaluation steps, each one domain function (staff), and its progress."""

    queryset = Call.objects.none()
    serializer_class = ser.ActionResultSerializer
    filter_backends = []

    def _staff_call(self) -> Call:
        call = self.visible_call()
        self.require("calls.manage_evaluation", call)
        return call

    def _done(self, call, result: dict) -> Response:
        call.refresh_from_db(fields=["stage"])
        return Response(ser.ActionResultSerializer({"stage": call.stage, "result": result}).data)

    @extend_schema(summary=_("Evaluation progress (staff and the commission's president)"),
                   responses={200: ser.ProgressSerializer, 403: REFUSED})
    @action(detail=False, methods=["get"])
    def progress(self, request, code=None):
        call = self.visible_call()
        if not (is_staff | rules.is_commission_president).test(request.user, call):
            raise PermissionDenied(_("Only staff and the commission's president follow the progress."))
        return Response(ser.ProgressSerializer(queries.progress(call)).data)

    @_step(_("Close admissibility and open the commission's review"),
           description=_("Every submitted application needs an admit/exclude decision, and the commission "
                         "must be appointed."))
    @action(detail=False, methods=["post"], url_path="open-review")
    def open_review(self, request, code=None):
        call = evaluation.review_open(call=self._staff_call(), by=request.user)
        return self._done(call, {})

    @_step(_("Assign reviewers: k per admitted application, balanced, never a conflicted member"))
    @action(detail=False, methods=["post"], url_path="assign-reviewers")
    def assign_reviewers(self, request, code=None):
        call = self._staff_call()
        return self._done(call, evaluation.reviews_assign(call=call, by=request.user))

    @_step(_("Compute the final scores (mean or median of the reviewers', as the call says)"))
    @action(detail=False, methods=["post"], url_path="compute-final-scores")
    def compute_final_scores(self, request, code=None):
        call = self._staff_call()
        return self._done(call, evaluation.final_scores_compute(call=call, by=request.user))

    @_step(_("Publish the public draw's seed (once, before any ranking uses it)"), request=ser.DrawSeedSerializer,
           responses={200: ser.ActionResultSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW})
    @action(detail=False, methods=["post"], url_path="draw-seed")
    def draw_seed(self, request, code=None):
        call = self._staff_call()
        seed = self.body(ser.DrawSeedSerializer)["seed"]
        call = evaluation.draw_seed_publish(call=call, seed=seed, by=request.user)
        return self._done(call, {"seed": call.draw_seed, "published_at": call.draw_seed_published_at.isoformat()})

    @_step(_("Run the allocation on the final ranking (spaces by preferences, or grants by budget)"))
    @action(detail=False, methods=["post"], url_path="run-allocation")
    def run_allocation(self, request, code=None):
        call = self._staff_call()
        return self._done(call, evaluation.allocation_run(call=call, by=request.user))

    @_step(_("Expire awards past their acceptance deadline (each one triggers scorrimento)"))
    @action(detail=False, methods=["post"], url_path="expire-awards")
    def expire_awards(self, request, code=None):
        call = self._staff_call()
        return self._done(call, {"expired": evaluation.awards_expire(call=call, by=request.user)})

    @_step(_("Close requests for integration past their deadline"))
    @action(detail=False, methods=["post"], url_path="expire-integrations")
    def expire_integrations(self, request, code=None):
        call = self._staff_call()
        return self._done(call, {"expired": evaluation.integrations_expire(call=call, by=request.user)})


@extend_schema(parameters=[CODE])
@extend_schema_view(
    list=extend_schema(summary=_("The call's commission (staff and its members)"),
                       responses={200: ser.CommissionMemberSerializer(many=True), 403: REFUSED}),
    create=extend_schema(summary=_("Appoint a member, the president or the secretary (staff)"),
                         request=ser.CommissionAppointSerializer,
                         responses={201: ser.CommissionMemberSerializer, 400: INVALID, 403: REFUSED}),
)
class CommissionViewSet(EvaluationViewSet):
    queryset = CommissionMember.objects.none()
    serializer_class = ser.CommissionMemberSerializer
    pagination_class = None
    filter_backends = []

    def list(self, request, code=None):
        call = self.visible_call()
        self.require("calls.evaluate_call", call)
        return Response(ser.CommissionMemberSerializer(queries.commission_of(call), many=True).data)

    def create(self, request, code=None):
        call = self.visible_call()
        self.require("calls.manage_evaluation", call)
        data = self.body(ser.CommissionAppointSerializer)
        member = evaluation.commission_appoint(call=call, user=data["user"], role=data["role"], by=request.user)
        member = queries.commission_of(call).get(pk=member.pk)
        return Response(ser.CommissionMemberSerializer(member).data, status=status.HTTP_201_CREATED)


# --- staff: applications after the close -----------------------------------------------------------

class StaffApplicationFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", label=_("Call code"))

    class Meta:
        model = Application
        fields = ["call"]


@extend_schema_view(
    list=extend_schema(summary=_("Submitted applications with admissibility, integration and review counts (staff)"),
                       responses={200: ser.StaffApplicationSerializer(many=True), 403: REFUSED}),
    retrieve=extend_schema(
        summary=_("An application's evaluation file: decisions, requests, conflicts, scores (staff)"),
        parameters=[ID], responses={200: ser.StaffApplicationDetailSerializer, 403: REFUSED, 404: DetailSerializer},
    ),
)
class StaffApplicationViewSet(EvaluationViewSet):
    """Staff decide admissibility, ask for documents, adjust assignments and set consensus scores."""

    queryset = Application.objects.none()
    serializer_class = ser.StaffApplicationSerializer
    filterset_class = StaffApplicationFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return queries.applications_for_staff()

    def _application(self, perm: str):
        application = queries.application_for_staff(int(self.kwargs["pk"]), self.request.user)
        if application is None:
            raise NotFound()
        self.require(perm, application)
        return application

    def _context(self):
        return {**self.get_serializer_context(), "staff_links": True}

    def _detail(self, application_id, status_code=status.HTTP_200_OK) -> Response:
        application = queries.application_for_staff(application_id, self.request.user)
        return Response(ser.StaffApplicationDetailSerializer(application, context=self._context()).data,
                        status=status_code)

    def list(self, request):
        self.require("calls.manage_evaluation")
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = ser.StaffApplicationSerializer(page, many=True, context=self._context()).data
        return self.get_paginated_response(rows)

    def retrieve(self, request, pk=None):
        return self._detail(self._application("calls.manage_evaluation").pk)

    @extend_schema(
        summary=_("Admit or exclude (with the reason the applicant will read)"), parameters=[ID],
        request=ser.AdmissibilityDecideSerializer,
        responses={200: ser.StaffApplicationDetailSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"])
    def admissibility(self, request, pk=None):
        application = self._application("calls.manage_evaluation")
        data = self.body(ser.AdmissibilityDecideSerializer)
        evaluation.admissibility_decide(application=application, decision=data["decision"], reason=data["reason"],
                                        by=request.user)
        return self._detail(application.pk)

    @extend_schema(
        summary=_("Ask for named missing documents by a deadline (soccorso istruttorio)"), parameters=[ID],
        request=ser.IntegrationRequestCreateSerializer,
        responses={201: ser.IntegrationRequestSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"], url_path="integration-requests")
    def integration_requests(self, request, pk=None):
        application = self._application("calls.manage_evaluation")
        data = self.body(ser.IntegrationRequestCreateSerializer)
        made = evaluation.integration_request(application=application, items=data["items"],
                                              deadline=data["deadline"], message=data["message"], by=request.user)
        return Response(ser.IntegrationRequestSerializer(made, context=self._context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Assign a commission member to the application, or remove them"), parameters=[ID],
        request=ser.AssignmentSetSerializer,
        responses={200: ser.StaffApplicationDetailSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"])
    def assignments(self, request, pk=None):
        application = self._application("calls.manage_evaluation")
        data = self.body(ser.AssignmentSetSerializer)
        member = CommissionMember.objects.filter(call_id=application.call_id, pk=data["member"]).first()
        if member is None:
            raise ValidationError({"member": [_("Choose a member of this call's commission.")]})
        evaluation.review_assignment_set(application=application, member=member, assigned=data["assigned"],
                                         by=request.user)
        return self._detail(application.pk)

    @extend_schema(
        summary=_("Set the commission's final scores by consensus, with minutes (staff or the president)"),
        description=_("Body: {\"<criterion code>\": {\"points\": …, \"minutes\": …, \"comment\": …}, …}. All "
                      "criteria are saved, or none. Only during the commission's review: after the provisional "
                      "ranking, scores change only by accepting an appeal (409)."),
        parameters=[ID], request={"application/json": ser.FINAL_SCORES_BODY},
        responses={200: OpenApiResponse(ser.CommissionApplicationDetailSerializer, description=_(
            "The application as the commission reads it, with the final scores.")), 400: INVALID, 403: REFUSED,
            409: NOT_NOW},
    )
    @action(detail=True, methods=["put"], url_path="final-scores", parser_classes=[JSONParser])
    def final_scores(self, request, pk=None):
        application = self._application("calls.set_final_score")
        criteria = self.criteria_by_code(application.call)

        def save(code, values):
            if code not in criteria:
                raise DjangoValidationError({"criterion": _("Unknown criterion.")})
            evaluation.final_score_set(application=application, criterion=criteria[code], by=request.user,
                                       **values)

        self.save_by_criterion(request.data, ser.FinalScoreInputSerializer, save)
        return commission_view(request, queries.commission_application(application.pk, request.user),
                               self.get_serializer_context())

    @extend_schema(summary=_("Download a document sent for a request for integration (staff)"),
                   parameters=[ID, DOCUMENT_ID, NO_FORMAT], request=None, responses=DOWNLOAD)
    @action(detail=True, methods=["get"], url_path=r"documents/(?P<document_id>[0-9]+)", url_name="document",
            renderer_classes=[JSONRenderer, BinaryRenderer])
    def document(self, request, pk=None, document_id=None):
        application = self._application("calls.manage_evaluation")
        found = next((d for r in application.integration_requests.all() for d in r.documents.all()
                      if d.pk == int(document_id)), None)
        if found is None:
            raise NotFound()
        return download(found.file, name=found.original_name, content_type=found.content_type)


# --- commission members --------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(
        summary=_("The call's applications for its commission (never those I declared a conflict for)"),
        parameters=[CALL_FILTER], responses={200: ser.CommissionApplicationSerializer(many=True), 400: INVALID},
    ),
    retrieve=extend_schema(
        summary=_("An application as the commission reads it (anonymous calls: without identity)"),
        parameters=[ID],
        responses={200: ser.CommissionApplicationDetailSerializer, 403: REFUSED, 404: DetailSerializer},
    ),
)
class CommissionApplicationViewSet(EvaluationViewSet):
    """Applications of calls the user sits on the commission of; conflicted members are refused (403)."""

    queryset = Application.objects.none()
    serializer_class = ser.CommissionApplicationSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]+"

    def _application(self, perm: str | None = "calls.view_application_for_review"):
        application = queries.commission_application(int(self.kwargs["pk"]), self.request.user)
        if application is None:
            raise NotFound()
        if perm:
            self.require(perm, application, _("You declared a conflict of interest for this application."))
        return application

    def list(self, request):
        code = request.query_params.get("call")
        if not code:
            raise ValidationError({"call": [_("Give the call's code.")]})
        call = rules.visible_calls(request.user).filter(code=code).first()
        if call is None:
            raise ValidationError({"call": [_("No such call.")]})
        visible = rules.visible_applications_for_review(request.user, call)
        page = self.paginate_queryset(queries.applications_for_commission(request.user, visible))
        context = {**self.get_serializer_context(), "identity": identity_checker(request.user)}
        return self.get_paginated_response(ser.CommissionApplicationSerializer(page, many=True, context=context).data)

    def retrieve(self, request, pk=None):
        return commission_view(request, self._application(), self.get_serializer_context())

    @extend_schema(
        summary=_("Declare, for this application, no conflict or a conflict of interest"),
        description=_("A conflict removes my assignment and any score I entered for it, and cannot be withdrawn."),
        parameters=[ID], request=ser.ConflictInputSerializer,
        responses={200: ser.ConflictDeclarationSerializer, 400: INVALID, 403: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def conflict(self, request, pk=None):
        application = self._application(perm=None)
        member = evaluation.member_of(application.call, request.user)
        if member is None or not rules.is_commission_member(request.user, application.call):
            raise PermissionDenied(_("Only members of the call's commission declare conflicts of interest."))
        data = self.body(ser.ConflictInputSerializer)
        declaration = evaluation.conflict_declare(member=member, application=application, by=request.user, **data)
        return Response(ser.ConflictDeclarationSerializer(declaration).data)

    @extend_schema(summary=_("Download a submitted file (anonymous calls: under a neutral name)"),
                   parameters=[ID, FILE_ID, NO_FORMAT], request=None, responses=DOWNLOAD)
    @action(detail=True, methods=["get"], url_path=r"files/(?P<file_id>[0-9]+)", url_name="file",
            renderer_classes=[JSONRenderer, BinaryRenderer])
    def file(self, request, pk=None, file_id=None):
        application = self._application()
        identity = request.user.has_perm("calls.see_identity", application)
        name = ser.commission_file_name(application, int(file_id), identity=identity)
        stored = ApplicationFile.objects.filter(application=application, pk=file_id).select_related(
            "application").first()
        if name is None or stored is None:
            raise NotFound()
        self.require("calls.download_applicationfile_for_review", stored)
        return download(stored.file, name=name, content_type=stored.content_type)


class ReviewFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="application__call__code", label=_("Call code"))

    class Meta:
        model = ReviewAssignment
        fields = ["call"]


@extend_schema_view(
    list=extend_schema(summary=_("My review assignments (never for an application I declared a conflict for)")),
    retrieve=extend_schema(
        summary=_("An assigned application to score, with the rubric and my scores"),
        parameters=[ID], responses={200: ser.ReviewDetailSerializer, 403: REFUSED, 404: DetailSerializer},
    ),
)
class ReviewViewSet(EvaluationViewSet):
    """A commission member's own work: assigned applications and their scores per criterion."""

    queryset = ReviewAssignment.objects.none()
    serializer_class = ser.ReviewSerializer
    filterset_class = ReviewFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return queries.assignments_of(self.request.user)

    def _assignment(self, perm: str):
        assignment = queries.assignment_for_review(int(self.kwargs["pk"]), self.request.user)
        if assignment is None:
            raise NotFound()
        self.require(perm, assignment.application, _("You may not review this application."))
        return assignment

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "identity": identity_checker(request.user)}
        return self.get_paginated_response(ser.ReviewSerializer(page, many=True, context=context).data)

    def _detail(self, assignment) -> Response:
        application = assignment.application
        identity = self.request.user.has_perm("calls.see_identity", application)

        content = ser.application_content(application, identity=identity,
                                          file_url=file_url_for(self.request, application))
        context = {**self.get_serializer_context(), "identity": lambda _a: identity, "content": content}
        return Response(ser.ReviewDetailSerializer(assignment, context=context).data)

    def retrieve(self, request, pk=None):
        return self._detail(self._assignment("calls.view_application_for_review"))

    @extend_schema(
        summary=_("Score the criteria (points within each maximum; a comment below the call's threshold)"),
        description=_("Body: {\"<criterion code>\": {\"points\": …, \"comment\": …}, …}; any subset of the "
                      "rubric. Every criterion is saved, or none (errors by criterion code)."),
        parameters=[ID], request={"application/json": ser.SCORES_BODY},
        responses={200: ser.ReviewDetailSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["put"], parser_classes=[JSONParser])
    def scores(self, request, pk=None):
        assignment = self._assignment("calls.review_application")
        criteria = self.criteria_by_code(assignment.application.call)

        def save(code, values):
            if code not in criteria:
                raise DjangoValidationError({"criterion": _("Unknown criterion.")})
            evaluation.score_set(assignment=assignment, criterion=criteria[code], by=request.user, **values)

        self.save_by_criterion(request.data, ser.ScoreInputSerializer, save)
        return self._detail(queries.assignment_for_review(assignment.pk, request.user))


# --- appeals (staff and the commission's president) ----------------------------------------------

class AppealFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="application__call__code", label=_("Call code"))
    status = filters.ChoiceFilter(choices=AppealStatus.choices, label=_("Status"))

    class Meta:
        model = Appeal
        fields = ["call", "status"]


@extend_schema_view(
    list=extend_schema(summary=_("Appeals to decide (staff: all; the commission's president: their call's)")),
    retrieve=extend_schema(summary=_("An appeal"), parameters=[ID],
                           responses={200: ser.StaffAppealSerializer, 404: DetailSerializer}),
)
class AppealViewSet(EvaluationViewSet):
    queryset = Appeal.objects.none()
    serializer_class = ser.StaffAppealSerializer
    filterset_class = AppealFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return queries.appeals_visible(self.request.user)

    def _context(self, identity):
        return {**self.get_serializer_context(), "identity": identity, "appeal_links": True}

    def _appeal(self) -> Appeal:
        appeal = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if appeal is None:
            raise NotFound()
        self.require("calls.decide_appeal", appeal.application)
        return appeal

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = self._context(identity_checker(request.user))
        return self.get_paginated_response(ser.StaffAppealSerializer(page, many=True, context=context).data)

    def _detail(self, appeal) -> Response:
        appeal = self.get_queryset().get(pk=appeal.pk)
        identity = single_identity(self.request.user, appeal.application)
        return Response(ser.StaffAppealSerializer(appeal, context=self._context(identity)).data)

    def retrieve(self, request, pk=None):
        return self._detail(self._appeal())

    @extend_schema(
        summary=_("Decide an appeal: reject, or accept with re-scoring (staff or the president)"),
        description=_("Accepted appeals re-score through the commission's final scores; the final ranking "
                      "recomputes from them."),
        parameters=[ID], request=ser.AppealDecideSerializer,
        responses={200: ser.StaffAppealSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        appeal = self._appeal()
        data = self.body(ser.AppealDecideSerializer)
        evaluation.appeal_decide(appeal=appeal, accepted=data["accepted"], decision=data["decision"],
                                 rescores=data["rescores"] if data["accepted"] else None, by=request.user)
        return self._detail(appeal)

    @extend_schema(summary=_("Download a file of an appeal"), parameters=[ID, FILE_ID, NO_FORMAT], request=None,
                   responses=DOWNLOAD)
    @action(detail=True, methods=["get"], url_path=r"files/(?P<file_id>[0-9]+)", url_name="file",
            renderer_classes=[JSONRenderer, BinaryRenderer])
    def file(self, request, pk=None, file_id=None):
        appeal = self._appeal()
        stored = next((f for f in appeal.files.all() if f.pk == int(file_id)), None)
        if stored is None:
            raise NotFound()
        identity = request.user.has_perm("calls.see_identity", appeal.application)
        name = stored.original_name if identity else ser.neutral_appeal_file_name(stored)
        return download(stored.file, name=name, content_type=stored.content_type)


# --- applicants: outcomes and awards -------------------------------------------------------------

@extend_schema_view(
    retrieve=extend_schema(
        summary=_("My application's outcome: admissibility, scores with comments, position, served or not and why"),
        parameters=[ID], responses={200: ser.OutcomeSerializer, 404: DetailSerializer},
    ),
)
class OutcomeViewSet(EvaluationViewSet):
    """What happened to an application after the close, and what its applicant may still do."""

    queryset = Application.objects.none()
    serializer_class = ser.OutcomeSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]+"

    def _application(self, *, act: bool = False) -> Application:
        visible = rules.visible_applications(self.request.user)
        application = queries.outcome_application(int(self.kwargs["pk"]), visible)
        if application is None:
            raise NotFound()
        self.require("calls.view_application", application)
        if act and not rules.is_application_member(self.request.user, application):
            raise PermissionDenied(_("You do not act for this organization."))
        return application

    def _outcome(self, application_id) -> dict:
        visible = rules.visible_applications(self.request.user)
        application = queries.outcome_application(application_id, visible)
        data = ser.outcome_data(application, now=clock.now())
        if not self.request.user.has_perm("calls.view_scores", application):
            data["scores"] = None
        return data

    def retrieve(self, request, pk=None):
        application = self._application()
        outcome = self._outcome(application.pk)
        return Response(ser.OutcomeSerializer(outcome, context=self.get_serializer_context()).data)

    def _integration_request(self, application, request_id):
        found = next((r for r in application.integration_requests.all() if r.pk == int(request_id)), None)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(
        summary=_("Upload one of the requested documents (before the deadline)"),
        parameters=[ID, REQUEST_ID], request={"multipart/form-data": ser.IntegrationUploadSerializer},
        responses={201: ser.IntegrationDocumentSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"], url_path=r"integration/(?P<request_id>[0-9]+)/documents",
            url_name="integration-documents", parser_classes=[MultiPartParser, FormParser])
    def integration_documents(self, request, pk=None, request_id=None):
        application = self._application(act=True)
        integration = self._integration_request(application, request_id)
        data = self.body(ser.IntegrationUploadSerializer)
        check_size(data["file"])
        document = evaluation.integration_upload(request=integration, item=data["item"], name=data["file"].name or "",
                                                 content=data["file"].read(), by=request.user)
        return Response(ser.IntegrationDocumentSerializer(document, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Send the answer to a request for integration (every requested document uploaded)"),
        parameters=[ID, REQUEST_ID], request=None,
        responses={200: ser.IntegrationRequestSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"], url_path=r"integration/(?P<request_id>[0-9]+)/answer",
            url_name="integration-answer")
    def integration_answer(self, request, pk=None, request_id=None):
        application = self._application(act=True)
        integration = evaluation.integration_answer(
            request=self._integration_request(application, request_id), by=request.user)
        return Response(ser.IntegrationRequestSerializer(integration, context=self.get_serializer_context()).data)

    @extend_schema(
        summary=_("File an appeal against the provisional ranking (in the appeal window)"),
        parameters=[ID], request={"multipart/form-data": ser.AppealFileInputSerializer,
                                  "application/json": ser.AppealFileInputSerializer},
        responses={201: ser.AppealSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def appeals(self, request, pk=None):
        application = self._application(act=True)
        data = self.body(ser.AppealFileInputSerializer)
        for uploaded in data["files"]:
            check_size(uploaded)
        appeal = evaluation.appeal_file(application=application, text=data["text"], by=request.user,
                                        files=[(f.name or "", f.read()) for f in data["files"]])
        appeal = Appeal.objects.prefetch_related("files").get(pk=appeal.pk)
        return Response(ser.AppealSerializer(appeal, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("State my preferences among the offered spaces (in the window after the final ranking)"),
        parameters=[ID], request=ser.PreferencesInputSerializer,
        responses={200: ser.PreferencesSerializer, 400: INVALID, 403: REFUSED, 409: NOT_NOW},
    )
    @action(detail=True, methods=["put"])
    def preferences(self, request, pk=None):
        application = self._application(act=True)
        data = self.body(ser.PreferencesInputSerializer)
        try:
            evaluation.preferences_set(application=application, space_ids=data["space_ids"], by=request.user)
        except DjangoValidationError as exc:
            detail = validation_error_detail(exc)
            raise ValidationError({("space_ids" if k == "spaces" else k): v for k, v in detail.items()}) from exc
        preferences = self._outcome(application.pk)["preferences"]
        return Response(ser.PreferencesSerializer(preferences, context=self.get_serializer_context()).data)


class AwardFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", label=_("Call code"))
    status = filters.ChoiceFilter(choices=AwardStatus.choices, label=_("Status"))

    class Meta:
        model = Award
        fields = ["call", "status"]


@extend_schema_view(
    list=extend_schema(summary=_("Awards: mine (staff: all)")),
    retrieve=extend_schema(summary=_("An award with its concession"), parameters=[ID],
                           responses={200: ser.AwardSerializer, 404: DetailSerializer}),
)
class AwardViewSet(EvaluationViewSet):
    """Spaces and grants offered by the allocation: the winner accepts or renounces by the deadline."""

    queryset = Award.objects.none()
    serializer_class = ser.AwardSerializer
    filterset_class = AwardFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return queries.awards_visible(rules.visible_applications(self.request.user))

    def _award(self, *, act: bool = False) -> Award:
        award = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if award is None:
            raise NotFound()
        self.require("calls.view_application", award.application)
        if act and not rules.is_application_member(self.request.user, award.application):
            raise PermissionDenied(_("You do not act for this organization."))
        return award

    def _detail(self, award_id) -> Response:
        award = self.get_queryset().get(pk=award_id)
        return Response(ser.AwardSerializer(award, context=self.get_serializer_context()).data)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = ser.AwardSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(rows)

    def retrieve(self, request, pk=None):
        return self._detail(self._award().pk)

    @extend_schema(summary=_("Accept the award (a space award creates the concession)"), parameters=[ID],
                   request=None, responses={200: ser.AwardSerializer, 403: REFUSED, 409: NOT_NOW})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        award = self._award(act=True)
        evaluation.award_accept(award=award, by=request.user)
        return self._detail(award.pk)

    @extend_schema(summary=_("Renounce the award: it goes to the next on the reserve list (scorrimento)"),
                   parameters=[ID], request=ser.AwardRenounceSerializer,
                   responses={200: ser.AwardSerializer, 403: REFUSED, 409: NOT_NOW})
    @action(detail=True, methods=["post"])
    def renounce(self, request, pk=None):
        award = self._award(act=True)
        data = self.body(ser.AwardRenounceSerializer)
        evaluation.award_renounce(award=award, reason=data["reason"], by=request.user)
        return self._detail(award.pk)


# --- routes ----------------------------------------------------------------------------------------

router = SimpleRouter()
router.register(rf"calls/(?P<code>{CALL_CODE})/rankings", RankingViewSet, basename="ranking")
router.register(rf"calls/(?P<code>{CALL_CODE})/evaluation", CallEvaluationViewSet, basename="call-evaluation")
router.register(rf"calls/(?P<code>{CALL_CODE})/commission", CommissionViewSet, basename="commission")
router.register("evaluation/applications", StaffApplicationViewSet, basename="evaluation-application")
router.register("reviews/applications", CommissionApplicationViewSet, basename="commission-application")
router.register("reviews", ReviewViewSet, basename="review")
router.register("appeals", AppealViewSet, basename="appeal")
router.register("outcomes", OutcomeViewSet, basename="outcome")
router.register("awards", AwardViewSet, basename="award")

urlpatterns = [
    # A file, so no trailing slash: /api/v1/calls/<code>/rankings/<kind>/csv
    path("calls/<slug:code>/rankings/<str:kind>/csv", RankingViewSet.as_view({"get": "csv"}, renderer_classes=[
        CSVRenderer, JSONRenderer]), name="ranking-csv"),
    *router.urls,
]
