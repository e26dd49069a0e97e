"""
A stand-in for the parts of edx-platform this app touches, for ``make test-openedx``.

Only names and shapes are taken from edx-platform (read in its source); the
behaviour is the least needed to play the LMS. Nothing here is edx-platform code.
"""
