"""The public list and page of calls."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from manifattura.calls import domain
from manifattura.calls.enums import CallKind, SelectionMode
from manifattura.core import clock
from tests.calls.factories import build_call, ready_application


def _upcoming(code):
    now = clock.now()
    return build_call(code=code, opens_at=now + dt.timedelta(days=5), closes_at=now + dt.timedelta(days=20))


def _closed(code):
    now = clock.now()
    return build_call(code=code, opens_at=now - dt.timedelta(days=20), closes_at=now - dt.timedelta(days=1))


def test_the_list_groups_calls_by_phase_and_hides_drafts(client, db):
    open_call, upcoming, closed = build_call(code="OPEN-1"), _upcoming("SOON-1"), _closed("PAST-1")
    draft = build_call(code="DRAFT-1", publish=False)
    url = reverse("calls:call-list")
    text = client.get(url).content.decode()
    assert open_call.title in text and upcoming.title not in text and closed.title not in text
    assert client.get(url, {"phase": "upcoming"}).content.decode().count(upcoming.title) == 1
    assert closed.title in client.get(url, {"phase": "closed"}).content.decode()
    assert client.get(url, {"phase": "draft"}).content.decode().count(draft.title) == 0


def test_staff_also_see_calls_in_preparation(client, staff):
    draft = build_call(code="DRAFT-1", publish=False)
    client.force_login(staff)
    text = client.get(reverse("calls:call-list"), {"phase": "draft"}).content.decode()
    assert draft.title in text


def test_call_page_shows_rules_rubric_declarations_spaces_and_countdown(client, db):
    call = build_call(max_organization_age_years=10, allowed_organization_kinds=["startup", "sme"])
    space = call.offered_spaces.select_related("site").get()
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    assert "Who may apply: Start-up, Small or medium enterprise." in text
    assert "The organization was founded no more than 10 years before submission." in text
    assert "Project quality" in text and "Jobs" in text
    assert "I declare under DPR 445/2000" in text
    assert reverse("places:site-detail", args=[space.site_id]) in text and space.name in text
    assert "data-countdown" in text and "data-server-now" in text
    assert "(Europe/Rome time)" in text  # the deadline is printed for readers without JavaScript
    assert 'data-call-map' in text and "leaflet/leaflet.js" in text
    assert "Log in to apply" in text


def test_deadline_extensions_are_shown_with_their_reason(client, staff):
    call = build_call()
    domain.call_extend_deadline(call=call, by=staff, new_closes_at=call.closes_at + dt.timedelta(days=7),
                                reason="The portal was down for maintenance on the last day.")
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    assert "Deadline extensions" in text
    assert "The portal was down for maintenance on the last day." in text


def test_first_come_calls_show_what_is_left_and_poll_for_updates(client, db):
    call = build_call(kind=CallKind.GRANT, mode=SelectionMode.FIRST_COME)
    application, user = ready_application(call)
    domain.application_submit(application=application, by=user)
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    resources_url = reverse("calls:call-resources", args=[call.code])
    assert f'hx-get="{resources_url}" hx-trigger="every 10s"' in text
    partial = client.get(resources_url).content.decode()
    assert "1 application received" in partial
    assert "80,000.00" in partial or "80.000,00" in partial  # 100,000 budget − 20,000 requested


def test_merit_calls_have_no_resources_endpoint(client, db):
    call = build_call()
    assert client.get(reverse("calls:call-resources", args=[call.code])).status_code == 404


def test_upcoming_call_offers_a_draft_and_counts_down_to_the_opening(client, db):
    call = _upcoming("SOON-2")
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory().user)
    text = client.get(reverse("calls:call-detail", args=[call.code])).content.decode()
    assert "Submissions open in" in text and "Start a draft" in text


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("user", ["anonymous", "staff"])
def test_call_list_runs_the_same_queries_for_one_or_several_calls(client, staff, user):
    if user == "staff":
        client.force_login(staff)
    build_call(code="OPEN-1")
    url = reverse("calls:call-list")
    one = _count(client, url)
    for code in ("OPEN-2", "OPEN-3", "OPEN-4"):
        build_call(code=code, spaces=2)
    assert _count(client, url) == one
