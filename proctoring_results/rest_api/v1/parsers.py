"""
The REST API's request parsers: DRF's, with JSON read through the app's depth guard (``jsonbody``).

DRF's ``JSONParser`` lets the ``RecursionError`` of deeply nested JSON escape
as a 500; this one answers 400 like any malformed body. Every view of v1 that
reads ``request.data`` lists ``PARSER_CLASSES``.
"""

import codecs

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from proctoring_results import jsonbody


class BoundedJSONParser(parsers.JSONParser):
    """``application/json`` bodies, refused with 400 when nested deeper than ``jsonbody.MAX_JSON_DEPTH``."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return jsonbody.loads(text, parse_constant=strict_constant if self.strict else None)
        except jsonbody.JSONTooDeep as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:  # malformed JSON, or bytes that are not text in ``encoding``
            raise ParseError(f"JSON parse error - {exc}") from None


#: DRF's default parsers, JSON replaced by the bounded one.
PARSER_CLASSES = [BoundedJSONParser, parsers.FormParser, parsers.MultiPartParser]
