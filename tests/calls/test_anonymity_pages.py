"""Anonymous review on the web pages: whatever a commission member can reach never names the applicant.

The applicants of this call typed their own name and VAT number into an answer and uploaded a file
named after themselves. Reviewers and the president crawl every page and file they can reach from
their review pages; none may contain an organization's legal name, VAT number or original file name.
Staff pages show them all.
"""

import re
from urllib.parse import urljoin

from django.urls import reverse

from manifattura.calls.models import Appeal, ApplicationFile
from tests.calls.test_views_evaluation import english_client, make_world

LINK = re.compile(r'href="(/calls/[^"#?]*)"')
SKIP = re.compile(r"/(apply|manage|mine)/|/calls/$|/applications/\d+/")


def identities(world) -> list[str]:
    """Every identifying string of every applicant of the call."""
    values = []
    for application in world.apps.values():
        organization = application.organization
        values += [organization.legal_name, organization.vat_number]
    values += list(ApplicationFile.objects.filter(application__call=world.call).values_list("original_name", flat=True))
    values += ["grounds.pdf"]  # the appeal's own file name
    return values


def crawl(client, start: list[str], code: str) -> dict[str, str]:
    """GET every page and file of the call reachable from ``start``; returns url → body and headers as text."""
    seen, queue, pages = set(), list(start), {}
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            pages[url] = f"status {response.status_code}"
            continue
        headers = " ".join(f"{k}: {v}" for k, v in response.items())
        if response.get("Content-Type", "").startswith("text/html"):
            body = response.content.decode()
            for link in LINK.findall(body):
                link = urljoin(url, link)
                if (f"/calls/{code}/" in link or "/calls/files/" in link) and not SKIP.search(link):
                    queue.append(link)
        elif "pdf" in response.get("Content-Type", ""):
            body = ""  # compressed PDF streams: their names are checked in the headers
        else:
            body = (b"".join(response.streaming_content) if response.streaming else response.content).decode("utf-8")
        pages[url] = headers + "\n" + body
    return pages


def test_reviewers_and_president_never_see_who_applied_and_staff_do(db):
    world = make_world("appeal", anonymous=True, code="ANON-2026")
    code = world.call.code
    secret = identities(world)
    appeal = Appeal.objects.get(application=world.target)
    reached = {}
    for role in ("member", "president"):
        start = [reverse("calls_eval:review", args=[code]), reverse("calls_eval:ranking", args=[code])]
        if role == "president":
            start += [reverse("calls_eval:review-progress", args=[code]),
                      reverse("calls_eval:appeal-decide", args=[code, appeal.pk])]
        pages = crawl(english_client(world.users[role]), start, code)
        reached[role] = pages
        for url, text in pages.items():
            for value in secret:
                assert value not in text, f"{role} sees {value!r} at {url}"
    # They did reach the applications, their files (under neutral names) and the appeal's file.
    member_pages = reached["member"]
    assert sum("/files/" not in url and "/review/" in url and url.rstrip("/").split("/")[-1].isdigit()
               for url in member_pages) == 4
    downloads = [text for url, text in member_pages.items() if "/calls/files/review/" in url]
    assert downloads and all('filename="document-1.pdf"' in text for text in downloads)
    assert any("/calls/files/appeal/" in url for url in reached["president"])
    assert "Lab of […], VAT […]" in "".join(member_pages.values())

    staff = english_client(world.staff)
    dashboard = staff.get(reverse("calls_eval:dashboard", args=[code])).content.decode()
    record = staff.get(reverse("calls_eval:application", args=[code, world.target.pk])).content.decode()
    organization = world.target.organization
    assert organization.legal_name in dashboard and organization.vat_number in dashboard
    original = world.target.current_submission.snapshot["answers"][-1]["value"][0]["name"]
    assert organization.legal_name in original
    assert original in record and organization.vat_number in record


def test_the_generic_file_download_gives_the_commission_neutral_names_on_anonymous_calls(db):
    """``calls:file-download`` admits the commission too: it must name files as ``calls_eval:review-file`` does."""
    world = make_world("review", anonymous=True, code="ANON-FILES")
    target = world.target
    answers = target.current_submission.snapshot["answers"]
    submitted = next(a["value"][0]["id"] for a in answers if a["kind"] == "file")
    replaced = target.files.exclude(pk=submitted).get()  # the first upload, replaced before submitting
    original = target.files.get(pk=submitted).original_name
    assert target.organization.legal_name in original
    url = reverse("calls:file-download", args=[submitted])
    for role in ("member", "president"):
        client = english_client(world.users[role])
        response = client.get(url)
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert 'filename="document-1.pdf"' in disposition and target.organization.legal_name not in disposition
        assert disposition == client.get(reverse("calls_eval:review-file", args=[submitted]))["Content-Disposition"]
        # The commission reads the submitted application only, as on the review pages.
        assert client.get(reverse("calls:file-download", args=[replaced.pk])).status_code == 404
    assert english_client(world.users["conflicted"]).get(url).status_code == 403
    # Staff and the applicant see who applied: the file keeps its own name.
    for role in ("staff", "applicant"):
        response = english_client(world.users[role]).get(url)
        assert response.status_code == 200 and original in response["Content-Disposition"]
        replaced_url = reverse("calls:file-download", args=[replaced.pk])
        assert english_client(world.users[role]).get(replaced_url).status_code == 200


def test_the_generic_file_download_keeps_original_names_for_the_commission_of_a_named_call(db):
    world = make_world("review", code="NAMED-FILES")
    target = world.target
    answers = target.current_submission.snapshot["answers"]
    submitted = next(a["value"][0]["id"] for a in answers if a["kind"] == "file")
    response = english_client(world.users["member"]).get(reverse("calls:file-download", args=[submitted]))
    assert response.status_code == 200 and 'filename="plan.pdf"' in response["Content-Disposition"]
