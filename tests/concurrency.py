"""Run calls in threads released at one instant (PostgreSQL concurrency tests)."""

import threading

from django.db import connections


def all_at_once(calls, *, timeout: float = 30) -> tuple[list, list]:
    """Run each ``(function, args)`` in its own thread, all released together by a barrier.

    Returns ``(results, errors)`` in completion order; each thread closes its database connections.
    """
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(function, args):
        try:
            barrier.wait(timeout=timeout)
            results.append(function(*args))
        except Exception as exc:  # collected for the test to assert on
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * timeout)
    return results, errors
