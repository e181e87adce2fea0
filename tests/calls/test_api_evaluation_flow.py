"""The whole evaluation through the API only: from the close to concessions, as staff, the commission
and applicants would drive it with their own software."""

import csv
import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from manifattura.calls import evaluation
from manifattura.calls.models import Award, Concession, ReviewAssignment
from manifattura.core import clock
from tests.calls.factories import PDF_BYTES, build_call
from tests.calls.test_api_evaluation import (
    AFTER,
    CLOSE,
    POINTS,
    T0,
    _submit_applications,
    api,
    move_clock,
)
from tests.factories import UserFactory


def test_the_whole_evaluation_runs_through_the_api(db):
    staff = UserFactory(is_staff=True, email="office@example.org")
    move_clock(T0)
    call = build_call(staff=staff, opens_at=T0 - dt.timedelta(hours=1), closes_at=CLOSE, spaces=3, with_file=True,
                      tie_breaks=[{"kind": "criterion", "key": "jobs"}, {"kind": "draw"}],
                      reviewers_per_application=2, appeal_days=10, preference_days=5)
    apps, applicants = _submit_applications(call, 4)
    move_clock(AFTER)
    base = f"/api/v1/calls/{call.code}"
    office = api(staff)

    # The commission: a president and two members; one declares a conflict on protocol 1.
    people = [UserFactory(email=f"reviewer{i}@example.org") for i in range(3)]
    for person, role in zip(people, ("president", "member", "member"), strict=True):
        response = office.post(f"{base}/commission/", {"user": person.pk, "role": role}, format="json")
        assert response.status_code == 201, response.content
    assert [m["role"] for m in office.get(f"{base}/commission/").json()] == ["member", "member", "president"]
    president, reviewer, conflicted = people
    response = api(conflicted).post(f"/api/v1/reviews/applications/{apps[1].pk}/conflict/",
                                    {"has_conflict": True, "note": "Former partner"}, format="json")
    assert response.status_code == 200 and response.json()["has_conflict"] is True

    # Admissibility: protocol 4 must send a document first (soccorso istruttorio).
    listing = office.get(f"/api/v1/evaluation/applications/?call={call.code}").json()
    assert [row["protocol"] for row in listing["results"]] == [1, 2, 3, 4]
    deadline = (AFTER + dt.timedelta(days=5)).isoformat()
    response = office.post(f"/api/v1/evaluation/applications/{apps[4].pk}/integration-requests/",
                           {"items": ["DURC"], "deadline": deadline, "message": "Please send it"}, format="json")
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    applicant4 = api(applicants[4])
    outcome = applicant4.get(f"/api/v1/outcomes/{apps[4].pk}/").json()
    assert outcome["integration_requests"][0]["items"] == ["DURC"] and outcome["served"]["status"] == "pending"
    response = applicant4.post(f"/api/v1/outcomes/{apps[4].pk}/integration/{request_id}/documents/",
                               {"item": "DURC", "file": SimpleUploadedFile("durc.pdf", PDF_BYTES)}, format="multipart")
    assert response.status_code == 201, response.content
    assert applicant4.post(f"/api/v1/outcomes/{apps[4].pk}/integration/{request_id}/answer/").status_code == 200
    detail = office.get(f"/api/v1/evaluation/applications/{apps[4].pk}/").json()
    document = detail["integration_requests"][0]["documents"][0]
    assert office.get(document["download_url"]).getvalue() == PDF_BYTES
    for application in apps.values():
        response = office.post(f"/api/v1/evaluation/applications/{application.pk}/admissibility/",
                               {"decision": "admitted"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["admissibility"]["decision"] == "admitted"

    # Review: balanced assignment, never the conflicted member on protocol 1.
    assert office.post(f"{base}/evaluation/open-review/").json()["stage"] == "review"
    assigned = office.post(f"{base}/evaluation/assign-reviewers/").json()
    assert assigned["result"] == {"assigned": 8, "short": []}
    assert not ReviewAssignment.objects.filter(application=apps[1], member__user=conflicted).exists()
    for person in people:
        client = api(person)
        for row in client.get("/api/v1/reviews/").json()["results"]:
            detail = client.get(row["url"]).json()
            assert {c["code"] for c in detail["rubric"]} == {"quality", "jobs"}
            assert detail["content"]["files"][0]["name"] == "plan.pdf"  # not anonymous: original names
            response = client.post(f"/api/v1/reviews/applications/{row['application']}/conflict/",
                                   {"has_conflict": False}, format="json")
            assert response.status_code == 200, response.content  # scoring needs the declaration first
            quality, jobs = POINTS[row["protocol"]]
            response = client.put(f"/api/v1/reviews/{row['id']}/scores/", {
                "quality": {"points": quality, "comment": "Reasoned"}, "jobs": {"points": jobs, "comment": "Ok"},
            }, format="json")
            assert response.status_code == 200, response.content
            assert response.json()["completed_at"] is not None
    progress = api(president).get(f"{base}/evaluation/progress/").json()
    assert progress["assignments"] == {"total": 8, "completed": 8}
    assert progress["applications"]["admitted"] == 4

    # Final scores, seed, provisional ranking: public, with the CSV.
    assert office.post(f"{base}/evaluation/compute-final-scores/").json()["result"] == {"scores": 8}
    assert office.post(f"{base}/evaluation/draw-seed/", {"seed": "lotto-2026-05-02"}, format="json").status_code == 200
    response = office.post(f"{base}/rankings/", {"kind": "provisional"}, format="json")
    assert response.status_code == 201, response.content
    public = api().get(f"{base}/rankings/provisional/").json()
    assert [(e["protocol"], e["position"], e["fit"]) for e in public["entries"]] == [
        (3, 1, True), (2, 2, True), (4, 3, True), (1, None, False)]
    assert public["entries"][0]["name"] == apps[3].organization.legal_name  # the call publishes names
    assert public["seed"] == "lotto-2026-05-02" and len(public["inputs_digest"]) == 64
    published = api().get(public["csv_url"])
    assert published["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(published.content.decode()), delimiter=";"))
    assert ["3", "90.00"] == [rows[5][1], rows[5][-5]] or rows[5][1] == "3"
    outcome = api(applicants[1]).get(f"/api/v1/outcomes/{apps[1].pk}/").json()
    assert outcome["served"]["status"] == "not_fit" and outcome["ranking"]["fit"] is False
    assert outcome["appeal_window"]["open"] is True
    assert {c["code"]: Decimal(c["points"]) for c in outcome["scores"]["criteria"]} == {
        "quality": Decimal(30), "jobs": Decimal(20)}
    assert outcome["scores"]["criteria"][0]["comments"] == ["Reasoned", "Reasoned"]
    assert "reviewer" not in str(outcome) and president.email not in str(outcome)

    # Appeal by protocol 1, accepted by the president with a re-score.
    response = api(applicants[1]).post(f"/api/v1/outcomes/{apps[1].pk}/appeals/", {
        "text": "Quality was misread", "files": [SimpleUploadedFile("grounds.pdf", PDF_BYTES)]}, format="multipart")
    assert response.status_code == 201, response.content
    appeal = response.json()
    assert appeal["files"][0]["name"] == "grounds.pdf"
    to_decide = api(president).get(f"/api/v1/appeals/?call={call.code}").json()["results"]
    assert [a["id"] for a in to_decide] == [appeal["id"]]
    response = api(president).post(f"/api/v1/appeals/{appeal['id']}/decide/", {
        "accepted": True, "decision": "Quality re-examined", "rescores": {"quality": "60"}}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"

    # Final ranking after the window; preferences; allocation; scorrimento.
    move_clock(AFTER + dt.timedelta(days=11))
    response = office.post(f"{base}/rankings/", {"kind": "final"}, format="json")
    assert response.status_code == 201, response.content
    final = response.json()
    assert [e["protocol"] for e in final["entries"] if e["fit"]] == [3, 2, 1, 4]
    assert final["changes"][0]["protocol"] == 1 and "Appeal accepted" in final["changes"][0]["reason"]
    assert [r["kind"] for r in api().get(f"{base}/rankings/").json()] == ["provisional", "final"]
    spaces = [s.pk for s in call.offered_spaces.order_by("id")]
    for protocol in (1, 2, 3, 4):
        response = api(applicants[protocol]).put(f"/api/v1/outcomes/{apps[protocol].pk}/preferences/",
                                                 {"space_ids": spaces}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["space_ids"] == spaces
    move_clock(AFTER + dt.timedelta(days=17))
    summary = office.post(f"{base}/evaluation/run-allocation/").json()
    assert summary["stage"] == "allocation" and summary["result"]["awarded"] == 3
    outcome4 = api(applicants[4]).get(f"/api/v1/outcomes/{apps[4].pk}/").json()
    assert outcome4["served"]["status"] == "reserve" and "reserve list" in outcome4["served"]["reason"]
    mine = api(applicants[1]).get("/api/v1/awards/").json()["results"]
    assert len(mine) == 1 and mine[0]["application"] == apps[1].pk
    response = api(applicants[1]).post(f"/api/v1/awards/{mine[0]['id']}/accept/")
    assert response.status_code == 200 and response.json()["concession"]["monthly_fee"]
    award2 = Award.objects.get(application=apps[2])
    response = api(applicants[2]).post(f"/api/v1/awards/{award2.pk}/renounce/", {"reason": "Moved"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "renounced"
    outcome4 = api(applicants[4]).get(f"/api/v1/outcomes/{apps[4].pk}/").json()
    assert outcome4["served"]["status"] == "offered" and outcome4["awards"][0]["by_advance"] is True
    outcome1 = api(applicants[1]).get(f"/api/v1/outcomes/{apps[1].pk}/").json()
    assert outcome1["served"]["status"] == "accepted" and outcome1["awards"][0]["concession"] is not None
    assert Concession.objects.count() == 1
    assert evaluation.verify_ranking(call) == []
    clock.unfreeze()
