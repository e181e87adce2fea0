"""How places look on pages and maps: one colour per site status (badges, legend, markers)."""

from manifattura.places.enums import SiteStatus

# Dark enough for white badge text (WCAG AA on small bold text) and distinct on a map.
STATUS_COLORS: dict[str, str] = {
    SiteStatus.MAPPED: "#5c6f82",
    SiteStatus.SURVEYED: "#0066cc",
    SiteStatus.OFFERED: "#a35a00",
    SiteStatus.ASSIGNED: "#6a3ea1",
    SiteStatus.UNDER_RECOVERY: "#00747a",
    SiteStatus.ACTIVE: "#00804d",
    SiteStatus.WITHDRAWN: "#b8263d",
}


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "#5c6f82")


def status_legend() -> list[dict]:
    """Status value, translated label and colour, in lifecycle order."""
    return [
        {"value": value, "label": str(label), "color": status_color(value)}
        for value, label in SiteStatus.choices
    ]
