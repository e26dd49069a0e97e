"""
Settings that Open edX's plugin framework injects into the LMS (see ``apps.py``'s ``plugin_app``).

Each module has one ``plugin_settings(settings)`` function that is given the
LMS's settings *module* after the operator's own configuration has been read:
it only fills in what the operator left unset, and never replaces a value.
"""
