"""The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

A module of its own: DRF reads its parser setting while `rest_framework.views` is imported, so
the parser must not live in a module that imports DRF's views (clinic_site/api.py does).
"""

from __future__ import annotations

import re

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json

# How deeply JSON bodies may nest (objects and arrays together). Our deepest body (a
# consultation record's prescriptions) nests 3 levels.
MAX_JSON_DEPTH = 64

# Strings (skipped whole, brackets inside them are text) and the brackets between them.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|(?P<open>[\[{])|(?P<close>[\]}])')


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON `text` nests arrays and objects more than `limit` deep (read without
    recursion: Python's json module recurses once per level and fails with RecursionError)."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        if token.group("open"):
            depth += 1
            if depth > limit:
                return True
        elif token.group("close"):
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    """The API's only parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): JSON in, so a form or
    multipart body is DRF's 415 `unsupported_media_type`, and an unreadable body is a
    400 `parse_error` — also when it nests too deep."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if json_depth_exceeds(text, self.max_depth):
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {self.max_depth} levels deep."
            )
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
