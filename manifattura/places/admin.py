"""The staff area for zones, sites and spaces.

Every write goes through ``places.domain`` so derivation (zones, periphery, surface) and the
audit log happen exactly as for imports and the API. A site's status is never edited in the form:
the dedicated "Change status" page offers only the allowed next statuses and calls
``site_change_status``.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.db.models.functions import Length
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from manifattura.core.templatetags.core_tags import euro, m2
from manifattura.places import domain
from manifattura.places.display import status_color
from manifattura.places.enums import SiteStatus
from manifattura.places.forms import SiteAdminForm, SiteStatusChangeForm, SpaceAdminForm, SpaceInlineFormSet
from manifattura.places.models import Site, SiteAttachment, Space, Zone


class ReadableHistoryMixin:
    """History is for reading: reverting an old version would bypass the domain functions."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    """Zones come from boundary files (``import-zones``): here they are read, renamed at most."""

    list_display = ["name", "kind", "code", "area_display", "site_count"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    # Codes are numbers stored as text: shorter first, so "9" comes before "10".
    ordering = ["kind", Length("code"), "code"]
    fields = ["kind", "code", "name", "area_display", "bbox_display", "site_count"]
    readonly_fields = ["kind", "code", "area_display", "bbox_display", "site_count"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("geometry")
            .annotate(
                municipio_site_count=Count("municipio_sites", distinct=True),
                nil_site_count=Count("nil_sites", distinct=True),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("area"), ordering="area_m2")
    def area_display(self, obj):
        return m2(obj.area_m2)

    @admin.display(description=_("bounding box (lon/lat)"))
    def bbox_display(self, obj):
        return f"{obj.min_lon:.5f}, {obj.min_lat:.5f} — {obj.max_lon:.5f}, {obj.max_lat:.5f}"

    @admin.display(description=_("sites"))
    def site_count(self, obj):
        return (getattr(obj, "municipio_site_count", 0) or 0) + (
            getattr(obj, "nil_site_count", 0) or 0
        )


class SpaceInline(admin.TabularInline):
    model = Space
    form = SpaceAdminForm
    formset = SpaceInlineFormSet
    extra = 0
    fields = [
        "name",
        "use",
        "floor",
        "surface_m2",
        "accessibility",
        "monthly_fee",
        "availability",
        "is_demo",
    ]
    show_change_link = True


class SiteAttachmentInline(admin.TabularInline):
    model = SiteAttachment
    extra = 0
    fields = ["kind", "title", "file", "uploaded_at"]
    readonly_fields = ["uploaded_at"]


def _status_badge(status):
    label = SiteStatus(status).label if status in SiteStatus.values else status
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
        'white-space:nowrap">{}</span>',
        status_color(status),
        label,
    )


@admin.register(Site)
class SiteAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    form = SiteAdminForm
    change_form_template = "admin/places/site/change_form.html"
    list_display = [
        "name",
        "status_display",
        "municipio",
        "nil",
        "is_periphery",
        "surface_display",
        "cost_display",
        "is_demo",
    ]
    list_filter = [
        "status",
        "is_periphery",
        "ownership",
        "typology",
        "condition",
        "outside_zones",
        "is_demo",
        ("municipio", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "address", "ref_code"]
    list_select_related = ["municipio", "nil"]
    list_per_page = 50
    inlines = [SpaceInline, SiteAttachmentInline]
    actions = ["change_status_action"]
    readonly_fields = [
        "status_display",
        "change_status_link",
        "municipio",
        "nil",
        "zone_check",
        "is_periphery",
        "lon",
        "lat",
        "surface_source",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "address", "description", "ref_code", "is_demo"]}),
        (_("Status"), {"fields": ["status_display", "change_status_link"]}),
        (
            _("Location"),
            {
                "fields": [
                    "geometry",
                    "municipio",
                    "nil",
                    "zone_check",
                    "is_periphery",
                    "lon",
                    "lat",
                ],
                "description": _(
                    "Municipio, NIL, periphery and the centre point are derived from the "
                    "geometry when you save."
                ),
            },
        ),
        (
            _("Characteristics"),
            {
                "fields": [
                    "surface_m2",
                    "surface_source",
                    "ownership",
                    "condition",
                    "typology",
                    "recovery_cost",
                ],
                "description": _(
                    "Leave the surface empty on a polygon to have it computed from the polygon."
                ),
            },
        ),
        (_("Record"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # Sites are withdrawn (a status), never deleted: their history and audit trail stay.
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # a new site starts as "mapped": no status section yet
            return [fs for fs in self.fieldsets if "status_display" not in fs[1]["fields"]]
        return self.fieldsets

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj):
        return _status_badge(obj.status)

    @admin.display(description=_("surface"), ordering="surface_m2")
    def surface_display(self, obj):
        return m2(obj.surface_m2)

    @admin.display(description=_("zone check"))
    def zone_check(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        if obj.outside_zones:
            return format_html(
                '<strong style="color:#b8263d">{}</strong>',
                _("Outside every known zone: check the coordinates."),
            )
        return _("Inside a known Municipio.")

    @admin.display(description=_("recovery cost"), ordering="recovery_cost")
    def cost_display(self, obj):
        return euro(obj.recovery_cost)

    @admin.display(description=_("next step"))
    def change_status_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        allowed = ", ".join(str(SiteStatus(s).label) for s in domain.allowed_statuses(obj)) or "—"
        return format_html(
            '<a class="button" href="{}">{}</a> <span class="help">{}</span>',
            reverse("admin:places_site_status", args=[obj.pk]),
            _("Change status"),
            _("Allowed next statuses: %(allowed)s") % {"allowed": allowed},
        )

    # -- saving through the domain ------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            fields = {name: data[name] for name in form.changed_data if name in domain.SITE_FIELDS}
            geometry = data["geometry"] if "geometry" in form.changed_data else None
            site = domain.site_update(site=obj, by=request.user, geometry=geometry, **fields)
        else:
            fields = {name: data[name] for name in domain.SITE_FIELDS if name in data}
            site = domain.site_create(by=request.user, geometry=data["geometry"], **fields)
        # The admin keeps using ``obj`` (inlines, log entry, redirect): make it the saved row.
        obj.pk = site.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is not Space:
            return super().save_formset(request, form, formset, change)
        # Spaces are created, changed and removed through the domain (checked and audited); save with
        # commit=False only sorts the forms into new, changed and deleted for the admin's history.
        formset.save(commit=False)
        for space in formset.deleted_objects:
            domain.space_delete(space=space, by=request.user)
        for space in formset.new_objects:
            domain.space_create(site=form.instance, by=request.user, **{n: getattr(space, n) for n in SpaceInline.fields})
        for space, changed in formset.changed_objects:
            domain.space_update(space=space, by=request.user,
                                **{n: getattr(space, n) for n in changed if n in domain.SPACE_FIELDS})

    # -- status change ------------------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        custom = [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_change_view),
                name="places_site_status",
            )
        ]
        return custom + urls

    @admin.action(description=_("Change status of the selected site"))
    def change_status_action(self, request, queryset):
        sites = list(queryset[:2])
        if len(sites) != 1:
            self.message_user(
                request, _("Select exactly one site to change its status."), level=messages.WARNING
            )
            return None
        return redirect("admin:places_site_status", sites[0].pk)

    def status_change_view(self, request, object_id):
        site = self.get_object(request, unquote(object_id))
        if site is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("places.change_site_status", site):
            raise PermissionDenied
        allowed = domain.allowed_statuses(site)
        form = SiteStatusChangeForm(request.POST or None, allowed=allowed)
        if request.method == "POST" and form.is_valid():
            try:
                site = domain.site_change_status(
                    site=site,
                    to=form.cleaned_data["to"],
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                problems = (
                    exc.message_dict.get("status", exc.messages)
                    if hasattr(exc, "error_dict")
                    else exc.messages
                )
                for problem in problems:
                    form.add_error("to", problem)
                self.message_user(request, " ".join(problems), level=messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("The status of “%(site)s” is now “%(status)s”.")
                    % {"site": site, "status": site.get_status_display()},
                    level=messages.SUCCESS,
                )
                return redirect("admin:places_site_change", site.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change status: %(site)s") % {"site": site},
            "subtitle": None,
            "opts": self.opts,
            "original": site,
            "form": form,
            "current_status": _status_badge(site.status),
            "allowed_labels": [SiteStatus(s).label for s in allowed],
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request, site),
        }
        return TemplateResponse(request, "admin/places/site/status_change.html", context)


@admin.register(Space)
class SpaceAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    form = SpaceAdminForm
    list_display = [
        "name",
        "site",
        "use",
        "floor",
        "surface_display",
        "fee_display",
        "availability",
        "is_demo",
    ]
    list_filter = ["availability", "use", "accessibility", "site__is_periphery", "is_demo"]
    search_fields = ["name", "site__name"]
    list_select_related = ["site"]
    autocomplete_fields = ["site"]
    fields = [
        "site",
        "name",
        "use",
        "floor",
        "surface_m2",
        "accessibility",
        "monthly_fee",
        "availability",
        "description",
        "is_demo",
    ]

    @admin.display(description=_("surface"), ordering="surface_m2")
    def surface_display(self, obj):
        return m2(obj.surface_m2)

    @admin.display(description=_("monthly fee"), ordering="monthly_fee")
    def fee_display(self, obj):
        return euro(obj.monthly_fee)

    def get_readonly_fields(self, request, obj=None):
        # A space does not move to another site: create it there instead.
        return ["site"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.availability not in domain.STAFF_AVAILABILITIES:
            return False  # its call needs it
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        domain.space_delete(space=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        refused = 0
        for space in queryset:
            try:
                domain.space_delete(space=space, by=request.user)
            except ValidationError:
                refused += 1
        if refused:
            self.message_user(request, ngettext(
                "%(n)d space offered in a call or assigned was not removed.",
                "%(n)d spaces offered in a call or assigned were not removed.", refused) % {"n": refused},
                level=messages.WARNING)

    def save_model(self, request, obj, form, change):
        if change:  # through the domain: checked and audited (the site stays)
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in domain.SPACE_FIELDS}
            domain.space_update(space=obj, by=request.user, **fields)
            obj.refresh_from_db()
            return
        fields = {name: form.cleaned_data[name] for name in self.fields if name != "site"}
        space = domain.space_create(site=form.cleaned_data["site"], by=request.user, **fields)
        obj.pk = space.pk
        obj.refresh_from_db()
