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
