"""Assigning applications to reviewers: k per application, balanced load, never a conflicted member.

Plain data in, plain data out. Greedy in protocol order, each time choosing the least-loaded
eligible members (ties by member id): loads end up within one of each other whenever conflicts
allow, and the result is the same for the same inputs.
"""

from collections.abc import Iterable, Mapping


def assign_reviewers(
    *,
    applications: Iterable[int],
    members: Iterable[int],
    per_application: int,
    conflicts: set[tuple[int, int]],
    existing: Mapping[int, set[int]] | None = None,
) -> tuple[list[tuple[int, int]], list[int]]:
    """Return (new (application, member) pairs, applications that could not get enough reviewers).

    ``conflicts`` holds (member, application) pairs; ``existing`` the members already assigned.
    """
    existing = {a: set(m) for a, m in (existing or {}).items()}
    members = sorted(set(members))
    load = {m: 0 for m in members}
    for assigned in existing.values():
        for member in assigned:
            if member in load:
                load[member] += 1
    pairs: list[tuple[int, int]] = []
    short: list[int] = []
    for application in sorted(applications):
        have = existing.setdefault(application, set())
        need = per_application - len(have)
        if need <= 0:
            continue
        eligible = [m for m in members if m not in have and (m, application) not in conflicts]
        eligible.sort(key=lambda m: (load[m], m))
        chosen = eligible[:need]
        for member in chosen:
            pairs.append((application, member))
            have.add(member)
            load[member] += 1
        if len(chosen) < need:
            short.append(application)
    return pairs, short
