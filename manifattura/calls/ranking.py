"""The ranking (graduatoria): plain data in, ordered list out — deterministic and verifiable.

Total = Σ score × weight over the rubric's criteria. A total below the call's minimum is "not fit"
(non idoneo). Equal totals are separated by the call's ordered tie-break list; the last resort is a
public draw whose seed is published before the draw: an applicant's draw key is
SHA-256("<seed>:<protocol>"), so anyone can repeat the draw from the seed and protocol numbers.
The result never depends on the order of the input. No Django imports: this module is the
algorithm the law requires to be knowable, and it runs the same from stored scores or a CSV.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

TIE_CRITERION = "criterion"  # a criterion's weighted score, higher first
TIE_PROTOCOL = "protocol"  # earlier protocol first
TIE_ATTRIBUTE = "attribute"  # a declared attribute (e.g. female_led, founders_mean_age)
TIE_DRAW = "draw"  # public draw with the published seed
TIE_KINDS = (TIE_CRITERION, TIE_PROTOCOL, TIE_ATTRIBUTE, TIE_DRAW)


@dataclass(frozen=True)
class Criterion:
    code: str
    weight: Decimal
    max_points: Decimal


@dataclass(frozen=True)
class TieBreak:
    kind: str
    key: str = ""
    descending: bool = True  # for criteria and attributes: higher value first

    def label(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else self.kind


@dataclass(frozen=True)
class Candidate:
    id: int
    protocol: int
    scores: Mapping[str, Decimal]
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    candidate_id: int
    protocol: int
    total: Decimal
    fit: bool
    position: int | None  # 1-based among the fit; None for the not fit
    tie_break: str | None  # what separated this entry from an equal-total neighbour
    draw_key: str


class RankingError(ValueError):
    """Inputs that cannot be ranked (a missing score, a score above the maximum, an unknown tie-break)."""


def draw_key(seed: str, protocol: int) -> str:
    return hashlib.sha256(f"{seed}:{protocol}".encode()).hexdigest()


def weighted_total(criteria: Iterable[Criterion], scores: Mapping[str, Decimal]) -> Decimal:
    return sum((Decimal(scores[c.code]) * c.weight for c in criteria), Decimal("0"))


def _check(criteria, candidates, tie_breaks):
    codes = {c.code for c in criteria}
    for tie in tie_breaks:
        if tie.kind not in TIE_KINDS:
            raise RankingError(f"unknown tie-break {tie.kind!r}")
        if tie.kind == TIE_CRITERION and tie.key not in codes:
            raise RankingError(f"tie-break on unknown criterion {tie.key!r}")
    seen = set()
    for cand in candidates:
        if cand.protocol in seen:
            raise RankingError(f"protocol {cand.protocol} appears twice")
        seen.add(cand.protocol)
        for c in criteria:
            if c.code not in cand.scores:
                raise RankingError(f"protocol {cand.protocol}: no score for criterion {c.code!r}")
            score = Decimal(cand.scores[c.code])
            if score < 0 or score > c.max_points:
                raise RankingError(f"protocol {cand.protocol}: score {score} for {c.code!r} outside 0..{c.max_points}")


def _attribute_value(value, descending: bool):
    # Missing attributes sort last whatever the direction.
    if value is None or value == "":
        return (1, 0)
    if isinstance(value, bool):
        value = int(value)
    number = Decimal(str(value))
    return (0, -number if descending else number)


def rank(
    *,
    criteria: list[Criterion],
    candidates: Iterable[Candidate],
    min_total: Decimal,
    tie_breaks: list[TieBreak],
    seed: str,
) -> list[Entry]:
    """The ordered ranking: fit entries by total (then tie-breaks), then the not fit, same order.

    Protocol numbers are unique, and the draw (or, when no draw is configured, the protocol) ends
    every tie, so the order is total: the same inputs in any order give the same list.
    """
    candidates = list(candidates)
    tie_breaks = list(tie_breaks)
    _check(criteria, candidates, tie_breaks)
    weights = {c.code: c.weight for c in criteria}
    rows = []
    for cand in candidates:
        total = weighted_total(criteria, cand.scores)
        key_draw = draw_key(seed, cand.protocol)
        parts = []
        for tie in tie_breaks:
            if tie.kind == TIE_CRITERION:
                value = Decimal(cand.scores[tie.key]) * weights[tie.key]
                parts.append(-value if tie.descending else value)
            elif tie.kind == TIE_PROTOCOL:
                parts.append(cand.protocol)
            elif tie.kind == TIE_ATTRIBUTE:
                parts.append(_attribute_value(cand.attributes.get(tie.key), tie.descending))
            else:
                parts.append(key_draw)
        parts.append(cand.protocol)  # unique: guarantees a total order even without a draw
        fit = total >= min_total
        rows.append((0 if fit else 1, -total, tuple(parts), cand, total, key_draw, fit))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    labels = [t.label() for t in tie_breaks] + ["protocol"]
    entries: list[Entry] = []
    position = 0
    for index, (group, neg_total, parts, cand, total, key_draw, fit) in enumerate(rows):
        used = None
        for other_index in (index - 1, index + 1):
            if 0 <= other_index < len(rows):
                other = rows[other_index]
                if other[0] == group and other[1] == neg_total:
                    differing = next(i for i, (a, b) in enumerate(zip(parts, other[2], strict=True)) if a != b)
                    if used is None or labels.index(labels[differing]) < labels.index(used):
                        used = labels[differing]
        if fit:
            position += 1
        entries.append(Entry(cand.id, cand.protocol, total, fit, position if fit else None, used, key_draw))
    return entries


# --- the published CSV: enough to recompute the ranking without the database ---------------------

CSV_META_PREFIX = "#"


def to_csv(
    *, entries: list[Entry], candidates: Iterable[Candidate], criteria: list[Criterion], min_total: Decimal,
    tie_breaks: list[TieBreak], seed: str, names: Mapping[int, str] | None = None,
) -> str:
    """The public CSV (``;``-separated): metadata lines, then one row per applicant in ranking order."""
    by_id = {c.id: c for c in candidates}
    attribute_keys = [t.key for t in tie_breaks if t.kind == TIE_ATTRIBUTE]
    out = io.StringIO()
    out.write(f"{CSV_META_PREFIX} seed={seed}\n")
    out.write(f"{CSV_META_PREFIX} min_total={min_total}\n")
    out.write(f"{CSV_META_PREFIX} criteria=" + ",".join(f"{c.code}:{c.weight}:{c.max_points}" for c in criteria) + "\n")
    out.write(f"{CSV_META_PREFIX} tie_breaks=" + ",".join(
        f"{t.kind}:{t.key}:{'desc' if t.descending else 'asc'}" for t in tie_breaks) + "\n")
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    header = ["position", "protocol"] + (["name"] if names is not None else []) + [c.code for c in criteria]
    header += ["total", "fit"] + [f"attr:{k}" for k in attribute_keys] + ["draw_key", "tie_break"]
    writer.writerow(header)
    for entry in entries:
        cand = by_id[entry.candidate_id]
        row = [entry.position or "", entry.protocol]
        if names is not None:
            row.append(names.get(entry.candidate_id, ""))
        row += [str(cand.scores[c.code]) for c in criteria]
        row += [str(entry.total), "yes" if entry.fit else "no"]
        row += ["" if cand.attributes.get(k) is None else str(cand.attributes.get(k)) for k in attribute_keys]
        row += [entry.draw_key, entry.tie_break or ""]
        writer.writerow(row)
    return out.getvalue()


@dataclass(frozen=True)
class PublishedRanking:
    seed: str
    min_total: Decimal
    criteria: list[Criterion]
    tie_breaks: list[TieBreak]
    candidates: list[Candidate]
    published_order: list[tuple[int | None, int, Decimal, bool]]  # (position, protocol, total, fit)


def _attribute_from_text(text: str):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    return Decimal(text)


def from_csv(text: str) -> PublishedRanking:
    """Read a CSV written by ``to_csv`` (the published ranking) back into ranking inputs."""
    meta = {}
    lines = text.lstrip("\ufeff").splitlines()
    body = []
    for line in lines:
        if line.startswith(CSV_META_PREFIX):
            key, _sep, value = line[1:].strip().partition("=")
            meta[key] = value
        else:
            body.append(line)
    criteria = [
        Criterion(code, Decimal(weight), Decimal(maximum))
        for code, weight, maximum in (part.split(":") for part in meta["criteria"].split(",") if part)
    ]
    tie_breaks = [
        TieBreak(kind, key, direction == "desc")
        for kind, key, direction in (part.split(":") for part in meta.get("tie_breaks", "").split(",") if part)
    ]
    reader = csv.DictReader(body, delimiter=";")
    candidates, order = [], []
    for number, row in enumerate(reader, start=1):
        protocol = int(row["protocol"])
        scores = {c.code: Decimal(row[c.code]) for c in criteria}
        attributes = {k[5:]: _attribute_from_text(v) for k, v in row.items() if k.startswith("attr:")}
        candidates.append(Candidate(id=protocol, protocol=protocol, scores=scores, attributes=attributes))
        order.append((int(row["position"]) if row["position"] else None, protocol, Decimal(row["total"]), row["fit"] == "yes"))
    return PublishedRanking(meta["seed"], Decimal(meta["min_total"]), criteria, tie_breaks, candidates, order)


def verify_csv(text: str) -> list[str]:
    """Recompute the ranking from the published CSV alone; return the differences (empty: it matches)."""
    published = from_csv(text)
    entries = rank(criteria=published.criteria, candidates=published.candidates, min_total=published.min_total,
                   tie_breaks=published.tie_breaks, seed=published.seed)
    recomputed = [(e.position, e.protocol, e.total, e.fit) for e in entries]
    problems = []
    if len(recomputed) != len(published.published_order):
        problems.append(f"{len(published.published_order)} rows published, {len(recomputed)} recomputed")
    for index, (got, want) in enumerate(zip(recomputed, published.published_order, strict=False), start=1):
        if got != want:
            problems.append(f"row {index}: published {want}, recomputed {got}")
    return problems
