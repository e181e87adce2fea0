"""Settings: everything comes from the environment; SQLite under var/ by default."""

import importlib.util
import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent  # the manifattura package
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("MANIFATTURA_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# A development default keeps `make demo` and tests working; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rules.apps.AutodiscoverRulesConfig",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "bootstrap_italia_template",
    "manifattura.core",
    "manifattura.accounts",
    "manifattura.places",
    "manifattura.calls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "manifattura.config.urls"
WSGI_APPLICATION = "manifattura.config.wsgi.application"
ASGI_APPLICATION = "manifattura.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "manifattura.core.context_processors.platform",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'manifattura.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and commands share the file without "locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
PRIVATE_MEDIA_ROOT = VAR_DIR / "private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "manifattura@localhost")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["manifattura.core.permissions.ReadOnlyOrStaff"],
    "DEFAULT_FILTER_BACKENDS": ["manifattura.core.api.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "manifattura.core.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "manifattura.core.api.exception_handler",
    # Only views that name a scope are throttled (the token endpoint: password guessing).
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_TOKEN_RATE", "30/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Manifattura API",
    "DESCRIPTION": "Zones, abandoned sites and spaces of an urban-manufacturing programme.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The interactive docs work offline: no online validator badge, assets from drf-spectacular-sidecar.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "GeoJSONFeatureTypeEnum": ["Feature"],
        "GeoJSONFeatureCollectionTypeEnum": ["FeatureCollection"],
        "SiteStatusEnum": "manifattura.places.enums.SiteStatus",
        "SpaceAvailabilityEnum": "manifattura.places.enums.SpaceAvailability",
    },
}

# Maps: Leaflet assets come from django-leaflet; the tile URL is configurable and may be empty,
# in which case maps show markers and zone outlines on a blank background.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
# django-leaflet's app imports GeoDjango (and so GDAL) in its admin module; we only need the Leaflet
# assets it ships, so its static folder is served without installing the app.
STATICFILES_DIRS = [
    Path(importlib.util.find_spec("leaflet").submodule_search_locations[0]) / "static",
]

# The city the platform serves. Nothing in code assumes Milan beyond these defaults.
MANIFATTURA = {
    "CITY_NAME": os.environ.get("MANIFATTURA_CITY_NAME", "Comune di Milano"),
    # The municipality's name as organizations write it in their addresses (seat rules of calls).
    "MUNICIPALITY": os.environ.get("MANIFATTURA_MUNICIPALITY", "Milano"),
    "PROGRAMME_NAME": os.environ.get("MANIFATTURA_PROGRAMME_NAME", "Manifattura Milano"),
    # Where the platform is served, for links in emails sent outside a request (reminders).
    "BASE_URL": os.environ.get("MANIFATTURA_BASE_URL", "http://127.0.0.1:8000"),
    # The programme's fund, shown on the home page (Milan's Manifattura Milano: EUR 10 million).
    "FUND_TOTAL_EUR": Decimal(os.environ.get("MANIFATTURA_FUND_TOTAL_EUR", "10000000.00")),
    "MAP_CENTER": [
        float(os.environ.get("MANIFATTURA_MAP_LAT", "45.4642")),
        float(os.environ.get("MANIFATTURA_MAP_LON", "9.19")),
    ],
    # Periphery rule: a site is in the periphery unless its Municipio is one of these codes.
    "CENTRAL_MUNICIPI": env_list("MANIFATTURA_CENTRAL_MUNICIPI", "1"),
    # Optional dotted path to a callable(site) -> bool that replaces the rule above.
    "PERIPHERY_RULE": os.environ.get("MANIFATTURA_PERIPHERY_RULE", ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
NOTIFY_DELIVERY = os.environ.get("NOTIFY_DELIVERY", "on_commit")  # or "worker"
# PostgreSQL: submit prepared drafts through one database call (calls.submit_fast); 0 = always the ORM path.
CALLS_FAST_SUBMIT = os.environ.get("CALLS_FAST_SUBMIT", "1") == "1"
# Fast submits arriving together in one server process share a transaction, up to this many (1 = none).
CALLS_SUBMIT_BATCH = int(os.environ.get("CALLS_SUBMIT_BATCH", "32"))
AUDIT_LINK_INTERVAL = float(os.environ.get("AUDIT_LINK_INTERVAL", "0"))  # seconds; 0 = after every commit
# "on_commit": requests link the audit chain after their commit (every AUDIT_LINK_INTERVAL seconds);
# "worker": requests never do, a separate `manifattura audit-link --every N` process does.
AUDIT_LINKING = os.environ.get("AUDIT_LINKING", "on_commit")
