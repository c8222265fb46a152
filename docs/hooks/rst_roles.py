"""MkDocs hook: show the docstrings' Sphinx roles (``:func:`~a.b.c` ``) as plain code (``c``).

The docstrings are Google style but cross-reference with Sphinx roles; mkdocstrings renders
them as the role name followed by the code. This drops the role name and, as Sphinx does for a
leading ``~``, keeps only the last component of the dotted name.
"""

import re

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def _plain(match: re.Match) -> str:
    tilde, name = match.groups()
    return f"<code>{name.rsplit('.', 1)[-1] if tilde else name}</code>"


def on_page_content(html: str, **kwargs) -> str:
    return ROLE.sub(_plain, html)
