"""
The one guard on JSON the app parses: nesting is bounded before the parser recurses.

Python's ``json`` parser recurses once per ``[`` or ``{``; about a thousand of
them raise ``RecursionError``, which no view expects (a 500). Every JSON body
the app reads goes through ``loads`` here: the REST API's parser
(``rest_api/v1/parsers.py``), the review callback (``reviews.parse_json_body``)
and the edx-proctoring import's review payloads. The depth is counted by one
linear scan of the text, outside strings, before anything is parsed.
"""

import json
import re

#: Deeper JSON is refused. The app's own bodies are two or three levels deep; a
#: provider's review payload is kept as sent, and 64 levels leave it room.
MAX_JSON_DEPTH = 64

#: A JSON string (with its escapes) or one bracket; strings are skipped, brackets counted.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class JSONTooDeep(ValueError):
    """The text nests arrays or objects deeper than ``MAX_JSON_DEPTH``."""

    def __init__(self, limit=MAX_JSON_DEPTH):
        super().__init__(f"The JSON is nested more than {limit} levels deep.")


def check_depth(text, limit=MAX_JSON_DEPTH):
    """Raise ``JSONTooDeep`` when ``text`` (str) opens more than ``limit`` arrays/objects at once."""
    if text.count("[") + text.count("{") <= limit:
        return  # cannot be deeper: the common case costs two C-speed counts
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                raise JSONTooDeep(limit)
        elif token in "]}":
            depth -= 1


def loads(text, **kwargs):
    """``json.loads`` after ``check_depth``; both failures are ``ValueError``s (``JSONTooDeep`` for depth)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8-sig")
    check_depth(text)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:  # pragma: no cover - check_depth stops such text first
        raise JSONTooDeep() from None
