"""Docstrings as a terminal shows them: the whole first paragraph, without reStructuredText marks.

>>> def adam():
...     '''Adam (Kingma & Ba 2015): ``m`` and ``v`` of the gradient, with
...     :func:`optax.adam`'s bias correction.
...
...     Args: ...'''
>>> description(adam)
"Adam (Kingma & Ba 2015): m and v of the gradient, with optax.adam's bias correction."
"""
from __future__ import annotations

import inspect
import re
from typing import Any

#: ``literal``, :role:`target`, `reference`, *emphasis*: the marks kept, the text kept.
_MARKUP = (
    (re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"),
    (re.compile(r"``([^`]+)``"), r"\1"),
    (re.compile(r"`([^`]+)`_?"), r"\1"),
    (re.compile(r"(?<![\w*])\*\*?([^*\s][^*]*?)\*\*?(?![\w*])"), r"\1"),
)


def plain(text: str) -> str:
    """``text`` with reStructuredText marks removed and whitespace runs made one space."""
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def description(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring, whole, as plain one-line text."""
    doc = inspect.getdoc(obj) or ""
    return plain(doc.split("\n\n", 1)[0])
