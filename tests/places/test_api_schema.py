"""The OpenAPI schema generates without warnings, validates and describes real responses; the
interactive docs work offline."""

import copy
import json
from html.parser import HTMLParser

import jsonschema
import pytest
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from rest_framework.test import APIClient

from tests.factories import SiteFactory, SpaceFactory, ZoneFactory


def test_schema_generates_without_warnings_and_validates(tmp_path, capsys):
    reset_generator_stats()
    # --fail-on-warn raises on any warning or error; --validate checks the OpenAPI 3 document.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "Warning" not in capsys.readouterr().err
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_served_and_lists_the_places_endpoints(schema):
    assert schema["openapi"].startswith("3.")
    for path, method in [
        ("/api/v1/zones/", "get"),
        ("/api/v1/zones/geojson/", "get"),
        ("/api/v1/sites/", "post"),
        ("/api/v1/sites/{id}/", "patch"),
        ("/api/v1/sites/{id}/status/", "post"),
        ("/api/v1/sites/geojson/", "get"),
        ("/api/v1/spaces/{id}/", "delete"),
    ]:
        assert method in schema["paths"][path], (path, method)
    assert (
        "delete" not in schema["paths"]["/api/v1/sites/{id}/"]
    )  # sites are withdrawn, not deleted
    assert "post" not in schema["paths"]["/api/v1/zones/"]
    list_content = schema["paths"]["/api/v1/sites/"]["get"]["responses"]["200"]["content"]
    assert list_content["application/geo+json"]["schema"]["$ref"].endswith("/SiteFeatureCollection")
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def strict_json_schema(node):
    """OpenAPI 3.0 schema → JSON Schema: ``nullable`` becomes a null type, and objects refuse
    undocumented properties, so a field the API returns but the schema omits fails validation."""
    if isinstance(node, list):
        return [strict_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict_json_schema(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(schema, component, data):
    document = {"components": strict_json_schema(copy.deepcopy(schema["components"]))}
    validator = jsonschema.Draft7Validator(
        {**document, "$ref": f"#/components/schemas/{component}"}
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


@pytest.mark.parametrize(
    ("url", "component"),
    [
        ("/api/v1/sites/", "PaginatedSiteList"),
        ("/api/v1/sites/{site}/", "Site"),
        ("/api/v1/sites/?format=geojson", "SiteFeatureCollection"),
        ("/api/v1/sites/{site}/?format=geojson", "SiteFeature"),
        ("/api/v1/spaces/", "PaginatedSpaceList"),
        ("/api/v1/spaces/geojson/", "SpaceFeatureCollection"),
        ("/api/v1/zones/", "PaginatedZoneList"),
        ("/api/v1/zones/geojson/", "ZoneFeatureCollection"),
    ],
)
def test_responses_match_their_documented_schema(schema, db, url, component):
    outside = SiteFactory(recovery_cost=None, surface_m2=None)  # nulls where the schema allows them
    space = SpaceFactory(site=outside)
    ZoneFactory()
    response = APIClient().get(url.format(site=outside.pk, space=space.pk))
    assert response.status_code == 200
    assert_matches(schema, component, json.loads(response.content))


class AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_interactive_docs_load_only_local_assets_and_they_are_served(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    collector = AssetCollector()
    collector.feed(html)
    assert collector.urls, "the page should load its scripts"
    for asset in collector.urls:
        assert asset.startswith("/static/") and not asset.startswith("//"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content), asset
        served.close()
    assert "/api/v1/schema/" in html


def test_swagger_ui_does_not_call_the_online_validator(client, db):
    html = client.get("/api/v1/docs/").content.decode()
    assert '"validatorUrl": null' in html
