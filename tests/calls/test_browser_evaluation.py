"""The commission in a real browser: a reviewer declares no conflict and scores an application (saved by
htmx); then the ranking is published and its public page is screenshotted."""

import pytest

from manifattura.calls import evaluation
from manifattura.calls.enums_evaluation import RankingKind
from manifattura.calls.models import ConflictDeclaration, ReviewAssignment, Score
from tests.browser import BROWSER_MARKS, SCREENSHOTS, chromium_page
from tests.calls.test_views_evaluation import make_world, score_everything

PASSWORD = "secret-pass-2026"  # tests.factories.UserFactory's

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(monkeypatch):
    yield from chromium_page(monkeypatch, locale="en-GB")


def test_reviewer_declares_no_conflict_scores_and_the_ranking_is_published(live_server, browser_page,
                                                                            transactional_db):
    world = make_world("review", code="BR-2026-01")
    call, reviewer = world.call, world.users["member"]
    assignment = (ReviewAssignment.objects.filter(member=world.members["member"])
                  .select_related("application__current_submission").order_by("application__current_submission__protocol")
                  .first())
    page = browser_page
    page.set_default_timeout(15000)
    base = live_server.url

    page.goto(f"{base}/accounts/login/?next=/calls/{call.code}/review/")
    page.fill("input[name=username]", reviewer.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/calls/{call.code}/review/")
    page.locator(f"#my-assignments th a[href$='/review/{assignment.application_id}/']").click()

    # No scores before the declaration; declaring "no conflict" opens the score form.
    assert page.locator("#score-form").count() == 0
    page.locator("label", has_text="I have no conflict of interest").click()
    page.get_by_role("button", name="Send the declaration").click()
    page.wait_for_selector("#score-form")
    assert ConflictDeclaration.objects.get(member=world.members["member"], application=assignment.application,
                                           ).has_conflict is False

    # A low score without a comment comes back with the message (htmx), the typed points kept.
    page.get_by_label("Project quality").fill("20")
    page.get_by_label("Jobs").fill("35")
    page.get_by_role("button", name="Save the scores").click()
    page.wait_for_selector("text=needs a comment explaining it")
    assert page.get_by_label("Project quality").input_value() == "20"
    page.locator("#criterion-quality textarea").fill("The market analysis is missing.")
    page.get_by_role("button", name="Save the scores").click()
    page.wait_for_selector("#score-box .alert-success")
    assert sorted(Score.objects.filter(assignment=assignment).values_list("points", flat=True)) == [20, 35]
    page.screenshot(path=str(SCREENSHOTS / "manifattura-review.png"), full_page=True)

    # The rest of the commission scores, staff publish the provisional ranking: the public page.
    score_everything(call)
    evaluation.final_scores_compute(call=call, by=world.staff)
    evaluation.draw_seed_publish(call=call, seed="lotto-2026-05-02-milano", by=world.staff)
    evaluation.ranking_publish(call=call, kind=RankingKind.PROVISIONAL, by=world.staff)
    page.goto(f"{base}/calls/{call.code}/ranking/")
    assert page.locator("#ranking-table tbody tr").count() == 4
    assert page.locator("#draw-seed").inner_text() == "lotto-2026-05-02-milano"
    assert "verify-ranking --csv" in page.locator(".verify-box").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "manifattura-ranking.png"), full_page=True)
    assert not page.errors
