"""Ranking and allocation at scale: 100,000 applications with 6 criteria and ties; 10,000 spaces.

Times the pure algorithms (calls/ranking.py, calls/allocation.py) and verifies the result's
properties in the same run. Baseline in the same run: Python's own sort of the same 100,000
(total, protocol) pairs, so the figure says how much the ranking's explainability costs.
"""

import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from manifattura.calls import allocation as a  # noqa: E402
from manifattura.calls import ranking as r  # noqa: E402

SCENARIO = "ranking"
N_APPLICATIONS = 100_000
N_SPACES = 10_000
N_APPLICANTS_FOR_SPACES = 20_000
USES = ("lab", "workshop", "office", "storage")


def _inputs(rng: random.Random):
    criteria = [r.Criterion(f"c{i}", Decimal(w), Decimal(m)) for i, (w, m) in
                enumerate([(1, 30), (1, 20), (Decimal("1.5"), 10), (1, 15), (Decimal("0.5"), 20), (1, 5)])]
    # Scores on a coarse grid so that many totals tie and the tie-breaks really work.
    candidates = [
        r.Candidate(
            id=p, protocol=p,
            scores={c.code: Decimal(rng.randrange(0, int(c.max_points) + 1, 5)) for c in criteria},
            attributes={"female_led": rng.random() < 0.3, "founders_mean_age": rng.randrange(22, 60)},
        )
        for p in range(1, N_APPLICATIONS + 1)
    ]
    rng.shuffle(candidates)
    ties = [r.TieBreak(r.TIE_CRITERION, "c0"), r.TieBreak(r.TIE_ATTRIBUTE, "female_led"),
            r.TieBreak(r.TIE_ATTRIBUTE, "founders_mean_age", descending=False),
            r.TieBreak(r.TIE_PROTOCOL), r.TieBreak(r.TIE_DRAW)]
    return criteria, candidates, ties


def _ranking_properties(entries, candidates, criteria, min_total) -> list[str]:
    problems = []
    fit = [e for e in entries if e.fit]
    if [e.position for e in fit] != list(range(1, len(fit) + 1)):
        problems.append("positions are not 1..n")
    if any(e.fit for e in entries[len(fit):]):
        problems.append("a fit entry after the not fit")
    totals = [e.total for e in fit]
    if totals != sorted(totals, reverse=True):
        problems.append("totals not descending")
    by_id = {c.id: c for c in candidates}
    if any(r.weighted_total(criteria, by_id[e.candidate_id].scores) != e.total for e in entries[:1000]):
        problems.append("a total differs from the weighted sum")
    if any((e.total >= min_total) != e.fit for e in entries):
        problems.append("fitness does not match the minimum")
    if len({e.protocol for e in entries}) != len(entries):
        problems.append("a protocol appears twice")
    return problems


def _allocation_properties(ranked, spaces, result) -> list[str]:
    problems = []
    by_space = {s.id: s for s in spaces}
    if len(set(result.assigned.values())) != len(result.assigned):
        problems.append("a space given twice")
    position = {app.id: i for i, app in enumerate(ranked)}
    owner = {sid: aid for aid, sid in result.assigned.items()}
    for app in ranked:
        mine = result.assigned.get(app.id)
        if mine is not None and (mine not in app.preferences or not a.fits(app, by_space[mine])):
            problems.append(f"applicant {app.id} got a space that does not fit or was not preferred")
            break
        limit = app.preferences.index(mine) if mine is not None else len(app.preferences)
        for better in app.preferences[:limit]:
            if a.fits(app, by_space[better]) and (better not in owner or position[owner[better]] > position[app.id]):
                problems.append(f"justified envy: applicant {app.id} for space {better}")
                break
    return problems


def run(argv=None) -> dict:
    rng = random.Random(20261126)
    criteria, candidates, ties = _inputs(rng)
    min_total = Decimal("40")

    start = time.perf_counter()
    entries = r.rank(criteria=criteria, candidates=candidates, min_total=min_total, tie_breaks=ties, seed="bench-seed")
    rank_s = time.perf_counter() - start

    pairs = [(e.total, e.protocol) for e in entries]
    rng.shuffle(pairs)
    start = time.perf_counter()
    sorted(pairs, key=lambda p: (-p[0], p[1]))
    baseline_s = time.perf_counter() - start

    again = r.rank(criteria=criteria, candidates=list(reversed(candidates)), min_total=min_total,
                   tie_breaks=ties, seed="bench-seed")
    problems = _ranking_properties(entries, candidates, criteria, min_total)
    if again != entries:
        problems.append("ranking depends on input order")

    spaces = [a.Space(id=i, surface_m2=Decimal(rng.randrange(20, 600)), use=rng.choice(USES)) for i in range(N_SPACES)]
    ranked = [
        a.Applicant(id=100_000 + n, preferences=tuple(rng.sample(range(N_SPACES), rng.randint(1, 5))),
                    min_surface_m2=Decimal(rng.randrange(0, 200)),
                    uses=tuple(rng.sample(USES, rng.randint(1, 3))))
        for n in range(N_APPLICANTS_FOR_SPACES)
    ]
    start = time.perf_counter()
    result = a.allocate_spaces(ranked, spaces)
    allocate_s = time.perf_counter() - start
    problems += _allocation_properties(ranked, spaces, result)

    ties_broken = sum(1 for e in entries if e.tie_break)
    return {
        "rank_100k_s": round(rank_s, 3),
        "allocate_10k_s": round(allocate_s, 4),
        "properties_ok": not problems,
        "baseline_plain_sort_100k_s": round(baseline_s, 3),
        "rank_vs_plain_sort": round(rank_s / baseline_s, 1) if baseline_s else None,
        "_entries_with_tie_break": ties_broken,
        "_spaces_assigned": len(result.assigned),
        "_reserve": len(result.reserve),
        "_problems": problems[:5],
    }


def report(metrics: dict) -> str:
    ok = "met" if metrics["rank_100k_s"] < 1 and metrics["allocate_10k_s"] < 1 and metrics["properties_ok"] else "NOT met"
    return "\n".join([
        f"Ranking {N_APPLICATIONS:,} applications (6 criteria, coarse scores so totals tie; tie-breaks: a criterion, "
        "two declared attributes, protocol, public draw) and allocating "
        f"{N_SPACES:,} spaces to {N_APPLICANTS_FOR_SPACES:,} ranked applicants with up to 5 preferences each.",
        "",
        "| metric | value |", "|---|---|",
        f"| rank_100k_s | {metrics['rank_100k_s']} |",
        f"| baseline: plain sort of the same 100k (total, protocol) pairs | {metrics['baseline_plain_sort_100k_s']} s |",
        f"| ranking / plain sort | {metrics['rank_vs_plain_sort']}× |",
        f"| allocate_10k_s | {metrics['allocate_10k_s']} |",
        f"| entries separated by a tie-break | {metrics['_entries_with_tie_break']:,} |",
        f"| spaces assigned / reserve list | {metrics['_spaces_assigned']:,} / {metrics['_reserve']:,} |",
        f"| properties_ok (order, positions, totals, fitness, order-independence; no space twice, fit, no justified envy) | {metrics['properties_ok']} |",
        "",
        f"Target (under 1 s each, properties verified): **{ok}**.",
        "",
    ])
