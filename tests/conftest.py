import pytest

from manifattura.core import clock


@pytest.fixture(autouse=True)
def _unfrozen_clock():
    yield
    clock.unfreeze()


@pytest.fixture(autouse=True)
def _fresh_form_cache():
    # Published forms are cached per process by (call id, publication instant); tests reuse both.
    from manifattura.calls import domain

    domain._spec_cache.clear()
    yield
    domain._spec_cache.clear()


@pytest.fixture(autouse=True)
def _no_submit_batch_thread_left():
    # Transactional tests on PostgreSQL submit through a batch thread with its own connection: end it
    # before the test's data (and, at the end, the test database) goes away.
    from manifattura.calls import submit_fast

    yield
    submit_fast.stop_batchers()


def pytest_configure(config):
    from django.conf import settings

    # Tests create many users: a fast hasher instead of PBKDF2's deliberate slowness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_unless_asked(settings, request):
    """Tests assert the English source texts; the platform's default (Italian) is tested by the tests
    marked ``italian`` (and by those that set LANGUAGE_CODE themselves)."""
    from django.utils import translation

    language = "it" if request.node.get_closest_marker("italian") else "en"
    settings.LANGUAGE_CODE = language
    translation.activate(language)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, email="staff@example.org")


@pytest.fixture
def registered(db):
    from tests.factories import UserFactory

    return UserFactory(email="person@example.org")


@pytest.fixture
def milan_zones(db):
    """Milan's 9 Municipi and 88 NIL from the project's demo data (loaded once per test)."""
    from manifattura.places.importers import load_milan_zones

    load_milan_zones()
