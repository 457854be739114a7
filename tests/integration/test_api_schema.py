"""schemathesis over the API's own OpenAPI schema (drf-spectacular): no 5xx, responses match the schema.

Runs in-process against the WSGI app on the real test database, with a marketplace client's token.
"""
import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient

pytestmark = [pytest.mark.services]


@pytest.fixture
def api_headers(db, make_user) -> dict[str, str]:
    cache.clear()  # throttle counters
    user = make_user("market-schema", Role.API_CLIENT)
    market = MarketplaceClient.objects.create(name="Market schema", user=user)
    # The seller in the schema's example (POST /sellers/{seller_id}/sales) sells through this client.
    accept_validated({"listing_id": "L-schema", "seller_id": "S-1001", "title": "Mug"}, client=market, enqueue=False)
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def _load_schema():
    """The schema the API serves at /api/v1/schema, generated without a request (it needs no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Like Django's test client: keep the test's connection (and its transaction) across WSGI requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, api_headers):
    case.call_and_validate(headers=api_headers,
                           checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
