"""Demo data steps: every project app may contribute one, and ``load-demo`` runs them all.

An app contributes by shipping a ``demo`` module (``manifattura/<app>/demo.py``) with a function
``load(*, stdout=None)`` that creates the app's demo records, writes a line per thing created to
``stdout`` (a file-like object, or None for silence) and is idempotent: running it again creates
nothing new. Steps run in ``INSTALLED_APPS`` order, so a step can rely on the data of the apps listed
before it (accounts makes the people, places the sites and spaces, calls offers those spaces, …).
"""

from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps

PROJECT_PACKAGE = __name__.split(".")[0]


def demo_steps() -> Iterator[tuple[str, Callable]]:
    """(app label, ``load``) for each project app that has a ``demo`` module, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if config.name.split(".")[0] != PROJECT_PACKAGE or find_spec(f"{config.name}.demo") is None:
            continue
        yield config.label, import_module(f"{config.name}.demo").load


def load_demo(*, stdout=None) -> list[str]:
    """Run every app's demo step; returns the labels of the apps whose step ran."""
    ran = []
    for label, load in demo_steps():
        load(stdout=stdout)
        ran.append(label)
    return ran
