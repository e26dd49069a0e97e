"""Sphinx configuration for the proctoring_results docs (built with -W: warnings are errors)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

import django  # noqa: E402  (after sys.path names the project)

django.setup()

from proctoring_results import __version__  # noqa: E402  (likewise)

project = "proctoring_results"
author = "proctoring_results developers"
copyright = "2026, proctoring_results developers"
release = version = __version__
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
# The theme Open edX's own documentation uses (docs.openedx.org), so the pages read alike.
html_theme = "sphinx_book_theme"
# Words, not the package name: the theme wraps the title between words, never inside one.
html_title = "Proctoring Results"
autodoc_member_order = "bysource"
exclude_patterns += ["reference/_generated"]


# ---------------------------------------------------------------- generated reference pages
# The REST API reference is rendered from the OpenAPI schema the example serves,
# and the management command reference from the commands' own argument parsers,
# so neither can drift from the code. Written under reference/_generated/ (git-ignored).


def _generate_reference(app):
    import textwrap
    from pathlib import Path

    import yaml
    from django.core.management import get_commands, load_command_class
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    out = Path(app.srcdir) / "reference" / "_generated"
    out.mkdir(parents=True, exist_ok=True)

    schema = SchemaGenerator().get_schema(request=None, public=True)
    (out / "openapi.yaml").write_bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))
    schema = yaml.safe_load((out / "openapi.yaml").read_text(encoding="utf-8"))
    lines = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            title = f"{method.upper()} {path}"
            lines += [title, "=" * len(title), "", operation.get("description", "").strip(), ""]
            params = [p for p in operation.get("parameters", [])]
            if params:
                lines += ["Parameters:", ""]
                for p in params:
                    lines.append(f"- ``{p['name']}`` ({p['in']}): {p.get('description', '').strip()}")
                lines.append("")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                lines += [f"Request body: ``{body.get('$ref', '').rsplit('/', 1)[-1]}`` (JSON).", ""]
            lines += ["Responses:", ""]
            for code, response in operation["responses"].items():
                ref = (
                    response.get("content", {})
                    .get("application/json", {})
                    .get("schema", {})
                    .get("$ref", "")
                    .rsplit("/", 1)[-1]
                )
                what = f"``{ref}``" if ref else response.get("description", "")
                lines.append(f"- ``{code}``: {what}")
            lines.append("")
    (out / "endpoints.inc").write_text("\n".join(lines), encoding="utf-8")

    common = {
        "help",
        "version",
        "verbosity",
        "settings",
        "pythonpath",
        "traceback",
        "no_color",
        "force_color",
        "skip_checks",
    }
    lines = []
    for name, app_name in sorted(get_commands().items()):
        if app_name != "proctoring_results":
            continue
        command = load_command_class(app_name, name)
        parser = command.create_parser("manage.py", name)
        actions = [a for a in parser._actions if a.dest not in common]
        usage = " ".join(
            [f"manage.py {name}"]
            + [a.metavar or a.dest for a in actions if not a.option_strings]
            + [
                f"[{a.option_strings[0]}{'' if a.nargs == 0 else ' ' + (a.metavar or a.dest.upper())}]"
                for a in actions
                if a.option_strings
            ]
        )
        lines += [
            f"``{name}``",
            "=" * (len(name) + 4),
            "",
            str(command.help),
            "",
            ".. code-block:: text",
            "",
            textwrap.indent(
                "\n".join(textwrap.wrap(usage, 90, subsequent_indent="    ", break_on_hyphens=False)), "   "
            ),
            "",
        ]
        for action in actions:
            flag = ", ".join(action.option_strings) or (action.metavar or action.dest)
            default = action.default
            extra = f" Default: ``{default}``." if default not in (None, False, [], "==SUPPRESS==") else ""
            lines.append(f"``{flag}``\n   {(action.help or '').strip()}{extra}")
        lines.append("")
    (out / "commands.inc").write_text("\n".join(lines), encoding="utf-8")


def setup(app):
    app.connect("builder-inited", _generate_reference)
