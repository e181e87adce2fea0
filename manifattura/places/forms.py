"""Forms of the public pages (the site filter) and of the staff area (site edit, status change)."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from manifattura.core import geo
from manifattura.places.enums import SiteStatus
from manifattura.places.filters import SiteFilter
from manifattura.places import domain
from manifattura.places.models import Site, Space

PERIPHERY_CHOICES = [
    ("", _("Any location")),
    ("true", _("In the periphery")),
    ("false", _("Not in the periphery")),
]


class SiteFilterForm(forms.Form):
    """Base form of the public site filter: widgets styled for Bootstrap Italia, clear messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.SelectMultiple):
                field.widget = forms.CheckboxSelectMultiple(choices=widget.choices)
            elif isinstance(widget, forms.Select):
                pass  # Bootstrap Italia styles selects through their .select-wrapper
            else:
                widget.attrs.setdefault("class", "form-control")
        if "is_periphery" in self.fields:
            self.fields["is_periphery"].widget = forms.Select(choices=PERIPHERY_CHOICES)
        if "outside_zones" in self.fields:
            # Not offered in the form (a data-quality filter for staff and the API); URLs may.
            self.fields["outside_zones"].widget = forms.HiddenInput()
        if "bbox" in self.fields:
            self.fields["bbox"].widget = forms.HiddenInput()
        if "municipio" in self.fields:
            self.fields["municipio"].empty_label = _("All Municipi")
        if "nil" in self.fields:
            self.fields["nil"].empty_label = _("All NIL")
        for name in ("surface_min", "surface_max"):
            if name in self.fields:
                self.fields[name].min_value = 0
                self.fields[name].widget = forms.NumberInput(
                    attrs={
                        "class": "form-control",
                        "min": "0",
                        "step": "any",
                        "inputmode": "decimal",
                    }
                )
                self.fields[name].validators.append(_not_negative)
        if "q" in self.fields:
            self.fields["q"].widget.attrs.update(
                {"type": "search", "placeholder": _("Name, address or reference code")}
            )

    def clean_bbox(self):
        value = self.cleaned_data.get("bbox")
        if not value:
            return value
        try:
            min_lon, min_lat, max_lon, max_lat = (float(part) for part in value.split(","))
        except ValueError:
            raise ValidationError(
                _("Write the bounding box as four numbers: min lon, min lat, max lon, max lat.")
            ) from None
        if not (min_lon <= max_lon and min_lat <= max_lat):
            raise ValidationError(_("The bounding box minimums must not exceed its maximums."))
        return value

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("surface_min"), cleaned.get("surface_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "surface_max",
                _("The maximum surface must be greater than or equal to the minimum surface."),
            )
            cleaned.pop("surface_max", None)
        return cleaned


def _not_negative(value):
    if value is not None and value < 0:
        raise ValidationError(_("Enter a surface of 0 m² or more."))


class PublicSiteFilter(SiteFilter):
    """The shared ``SiteFilter`` with the public pages' form (same filters, same meaning)."""

    class Meta(SiteFilter.Meta):
        form = SiteFilterForm


class GeometryField(forms.CharField):
    """GeoJSON text in a textarea; cleans to a valid GeoJSON dict (WGS84 lon/lat)."""

    widget = forms.Textarea

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            _(
                "A GeoJSON Point, Polygon or MultiPolygon in longitude/latitude (WGS84), e.g. "
                '{"type": "Point", "coordinates": [9.19, 45.46]}. Zones, periphery and, for '
                "polygons without a declared surface, the surface are derived from it."
            ),
        )
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"rows": 8, "cols": 80, "spellcheck": "false", "class": "vLargeTextField"}
        )

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return geo.to_geojson(geo.parse_geometry(value))
        except geo.GeometryError as exc:
            raise ValidationError(
                _("Invalid geometry: %(problem)s"), code="invalid_geometry", params={"problem": exc}
            ) from exc


class SiteAdminForm(forms.ModelForm):
    """Edit a site in the staff area: geometry validated here, derived on save by the domain."""

    geometry = GeometryField(label=_("geometry (GeoJSON, WGS84)"))

    class Meta:
        model = Site
        fields = [
            "name",
            "address",
            "description",
            "geometry",
            "ref_code",
            "surface_m2",
            "ownership",
            "condition",
            "typology",
            "recovery_cost",
            "is_demo",
        ]


class SiteStatusChangeForm(forms.Form):
    """Pick the next status of a site; only the allowed ones are offered, the domain decides."""

    to = forms.ChoiceField(label=_("New status"), choices=SiteStatus.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "Why the status changes; it is kept in the site's history and in the action log."
        ),
    )

    def __init__(self, *args, allowed: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only the allowed next statuses; any other value still reaches the domain, which
        # refuses it with a message that lists the allowed ones.
        self.fields["to"].widget.choices = [
            (value, label) for value, label in SiteStatus.choices if value in allowed
        ]


class SpaceAdminForm(forms.ModelForm):
    """A space in the staff area: "offered" and "assigned" belong to calls, not to this form."""

    class Meta:
        model = Space
        fields = "__all__"

    def clean_availability(self):
        wanted = self.cleaned_data["availability"]
        if self.instance.pk is not None:
            problem = domain.availability_problem(self.instance.availability, wanted)
            if problem:
                raise ValidationError(problem)
        return wanted


class SpaceInlineFormSet(forms.BaseInlineFormSet):
    """The spaces of a site page: one offered in a call or assigned cannot be ticked for removal."""

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk is not None and form.instance.availability not in domain.STAFF_AVAILABILITIES:
                raise ValidationError(_("“%(space)s” is offered in a call or assigned: it cannot be removed.") % {
                    "space": form.instance.name})
