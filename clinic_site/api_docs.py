"""The OpenAPI document (/api/v1/schema/) and Swagger UI over it (/api/docs/, /swagger/).

drf-spectacular's views, with their errors in the API's JSON shape. (Not in clinic_site/openapi.py:
DRF imports that module, the schema class, while its own views module loads, and these views
import DRF's views.)
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer


class JSONErrorsMixin:
    """Errors in the API's JSON shape from a view whose answers are not JSON (the YAML schema,
    the HTML docs page), e.g. a 405 for a method it does not take."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    """The OpenAPI document."""


class DocsView(JSONErrorsMixin, SpectacularSwaggerSplitView):
    """Swagger UI over the OpenAPI document."""
