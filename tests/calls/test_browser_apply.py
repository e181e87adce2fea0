"""Applying to the demo call in a real browser: log in, open the call, fill the sections (saved by htmx),
upload the business plan, accept the declarations, submit, and read the receipt with its protocol."""

import pytest

from manifattura.calls import demo
from manifattura.calls.enums import ApplicationStatus
from manifattura.calls.models import Application, Submission
from tests.browser import BROWSER_MARKS, SCREENSHOTS, chromium_page

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(monkeypatch):
    yield from chromium_page(monkeypatch, locale="en-GB")


def _tick(scope, text):
    # Bootstrap Italia draws its own boxes: people click the label, so does the test.
    scope.locator("label", has_text=text).first.click()


def test_apply_to_the_demo_call_end_to_end(live_server, browser_page, tmp_path, transactional_db):
    demo.load()
    page = browser_page
    page.set_default_timeout(15000)
    base = live_server.url

    page.goto(f"{base}/accounts/login/?next=/calls/{demo.SPACE_CALL_CODE}/")
    page.fill("input[name=username]", demo.APPLICANT_EMAIL)
    page.fill("input[name=password]", demo.APPLICANT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/calls/{demo.SPACE_CALL_CODE}/")
    assert page.locator("[data-countdown-text]").first.inner_text().strip()
    page.wait_for_selector(".leaflet-interactive")  # the offered spaces are on the map
    page.screenshot(path=str(SCREENSHOTS / "manifattura-call.png"), full_page=True)

    page.click("#apply button[type=submit]")
    page.wait_for_url("**/calls/applications/*/")
    sections = page.locator("section.section-card")

    project = sections.nth(0)
    project.get_by_label("Project title").fill("Fab lab di quartiere")
    project.get_by_label("Project description").fill("Too short")
    _tick(project, "Digital fabrication")
    project.get_by_role("button", name="Save this section").click()
    # The section comes back with the error on the field and the typed value kept.
    page.wait_for_selector("text=Write at least 100 characters")
    project = page.locator("section.section-card").nth(0)
    assert project.get_by_label("Project description").input_value() == "Too short"
    project.get_by_label("Project description").fill(
        "A neighbourhood fab lab with laser cutters, 3D printers and a wood shop, open to schools and to "
        "the small firms of the area for prototypes and short production runs.")
    project.get_by_label("Planned start date").fill("2027-02-01")
    project.get_by_role("button", name="Save this section").click()
    page.wait_for_selector("section.section-card >> nth=0 >> .save-status.saved")

    team = page.locator("section.section-card").nth(1)
    team.get_by_label("Jobs created in the first two years").fill("4")
    _tick(team, "Woodworking")
    _tick(team, "3D printing")
    _tick(team, "Yes")
    team.get_by_role("button", name="Save this section").click()
    page.wait_for_selector("section.section-card >> nth=1 >> .save-status.saved")

    plan = tmp_path / "business-plan.pdf"
    plan.write_bytes(PDF)
    page.set_input_files("input[type=file]", str(plan))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("text=File received.")
    assert page.locator("a", has_text="business-plan.pdf").count() == 1

    declarations = page.locator("#declarations")
    declarations.locator("label").nth(0).click()
    declarations.locator("label").nth(1).click()
    declarations.get_by_role("button", name="Save the declarations").click()
    page.wait_for_selector("#checklist .checklist-complete")
    page.screenshot(path=str(SCREENSHOTS / "manifattura-draft.png"), full_page=True)

    page.get_by_role("button", name="Submit the application").click()
    page.wait_for_url("**/receipt/")
    protocol = page.locator("#receipt-protocol").inner_text().strip()
    page.screenshot(path=str(SCREENSHOTS / "manifattura-receipt.png"), full_page=True)

    assert protocol == f"{demo.SPACE_CALL_CODE}/000001"
    application = Application.objects.get(call__code=demo.SPACE_CALL_CODE)
    assert application.status == ApplicationStatus.SUBMITTED
    submission = Submission.objects.get(application=application)
    assert submission.protocol_label == protocol
    assert submission.digest in page.content()
    assert page.errors == []
