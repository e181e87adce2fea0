"""The ranking (graduatoria): plain data in, ordered list out — deterministic and verifiable.

Total = Σ score × weight over the rubric's criteria. A total below the call's minimum is "not fit"
(non idoneo). Equal totals are separated by the call's ordered tie-break list; the last resort is a
public draw whose seed is published before the draw: an applicant's draw key is
SHA-256("<seed>:<protocol>"), so anyone can repeat the draw from the seed and protocol numbers.
The result never depends on the order of the input. No Django imports (numpy only): this module is the
algorithm the law requires to be knowable, and it runs the same from stored scores or a CSV.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

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


def _check_tie_breaks(criteria, tie_breaks):
    codes = {c.code for c in criteria}
    for tie in tie_breaks:
        if tie.kind not in TIE_KINDS:
            raise RankingError(f"unknown tie-break {tie.kind!r}")
        if tie.kind == TIE_CRITERION and tie.key not in codes:
            raise RankingError(f"tie-break on unknown criterion {tie.key!r}")


def _scaled(value) -> int:
    """A score or weight as an exact integer number of hundredths (they have at most 2 decimals)."""
    scaled = Decimal(value).scaleb(2)
    if scaled != scaled.to_integral_value():
        raise RankingError(f"{value} has more than 2 decimals")
    return int(scaled)


def _attribute_keys(values, descending: bool):
    # Missing attributes sort last whatever the direction.
    missing = np.array([v is None or v == "" for v in values], dtype=np.int8)
    numbers = np.array(
        [0.0 if (v is None or v == "") else float(int(v) if isinstance(v, bool) else Decimal(str(v))) for v in values],
        dtype=np.float64,
    )
    return missing, (-numbers if descending else numbers)


def rank(
    *,
    criteria: list[Criterion],
    candidates: Iterable[Candidate],
    min_total: Decimal,
    tie_breaks: list[TieBreak],
    seed: str,
) -> list[Entry]:
    """The ordered ranking: fit entries by total (then tie-breaks), then the not fit, same order.

    Order rule: fit first; higher total first; then each tie-break in the call's order (criterion:
    higher weighted score; protocol: earlier; attribute: as declared, missing last; draw: ascending
    first 16 hex digits of the draw key); finally the protocol, which is unique, so the order is
    total and the same inputs in any order give the same list. Scores and weights have at most
    2 decimals, so totals are computed exactly in integers.
    """
    candidates = list(candidates)
    tie_breaks = list(tie_breaks)
    _check_tie_breaks(criteria, tie_breaks)
    n = len(candidates)
    if n == 0:
        return []
    codes = [c.code for c in criteria]
    maxima = np.array([_scaled(c.max_points) for c in criteria], dtype=np.int64)
    weights = np.array([_scaled(c.weight) for c in criteria], dtype=np.int64)
    protocols = np.array([c.protocol for c in candidates], dtype=np.int64)
    if len(np.unique(protocols)) != n:
        raise RankingError("a protocol number appears twice")
    try:
        raw = [cand.scores[code] for cand in candidates for code in codes]
    except KeyError as exc:
        missing_for = next(c.protocol for c in candidates if exc.args[0] not in c.scores)
        raise RankingError(f"protocol {missing_for}: no score for criterion {exc.args[0]!r}") from None
    # Scores repeat a lot (whole points): convert each distinct value once.
    scaled = {value: _scaled(value) for value in set(raw)}
    scores = np.array([scaled[value] for value in raw], dtype=np.int64).reshape(n, len(codes))
    bad = np.argwhere((scores < 0) | (scores > maxima))
    if len(bad):
        row, col = bad[0]
        raise RankingError(
            f"protocol {protocols[row]}: score {candidates[row].scores[codes[col]]} for {codes[col]!r} "
            f"outside 0..{criteria[col].max_points}"
        )
    weighted = scores * weights  # ten-thousandths
    totals = weighted.sum(axis=1)
    fit = totals >= _scaled(min_total) * 100
    draw_keys = [draw_key(seed, int(p)) for p in protocols]
    # Keys in priority order; each tie-break may contribute more than one array.
    keyed: list[tuple[str, np.ndarray]] = [("fit", (~fit).astype(np.int8)), ("total", -totals)]
    for tie in tie_breaks:
        label = tie.label()
        if tie.kind == TIE_CRITERION:
            column = weighted[:, codes.index(tie.key)]
            keyed.append((label, -column if tie.descending else column))
        elif tie.kind == TIE_PROTOCOL:
            keyed.append((label, protocols))
        elif tie.kind == TIE_ATTRIBUTE:
            missing, values = _attribute_keys([c.attributes.get(tie.key) for c in candidates], tie.descending)
            keyed += [(label, missing), (label, values)]
        else:
            keyed.append((label, np.array([int(k[:16], 16) for k in draw_keys], dtype=np.uint64)))
    keyed.append(("protocol", protocols))
    order = np.lexsort([k for _label, k in reversed(keyed)])
    # Which key first separates each pair of neighbours with the same fitness and total.
    sorted_keys = [k[order] for _label, k in keyed]
    same_total = (sorted_keys[0][1:] == sorted_keys[0][:-1]) & (sorted_keys[1][1:] == sorted_keys[1][:-1])
    differs = np.stack([k[1:] != k[:-1] for k in sorted_keys[2:]])
    first_diff = np.where(same_total, differs.argmax(axis=0), -1)
    tie_labels = [label for label, _k in keyed[2:]] + [None]
    none = len(tie_labels) - 1
    pair_rank = np.where(first_diff >= 0, first_diff, none)
    used_index = np.minimum(np.concatenate(([none], pair_rank)), np.concatenate((pair_rank, [none]))).tolist()
    fit_list, totals_list = fit.tolist(), totals.tolist()
    entries: list[Entry] = []
    position = 0
    scale = Decimal(10000)
    as_decimal: dict[int, Decimal] = {}  # totals repeat too
    for sorted_index, index in enumerate(order.tolist()):
        is_fit = fit_list[index]
        if is_fit:
            position += 1
        cand = candidates[index]
        total = totals_list[index]
        points = as_decimal.get(total)
        if points is None:
            points = as_decimal[total] = Decimal(total) / scale
        entries.append(Entry(
            cand.id, cand.protocol, points, is_fit, position if is_fit else None,
            tie_labels[used_index[sorted_index]], draw_keys[index],
        ))
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
