"""Control characters in data from outside (names, titles, CSV cells, event names).

A terminal obeys them: an ANSI or OSC escape sequence in a company's name can recolour
the screen, rewrite the window title, plant a clipboard or a hyperlink, or move the
cursor to overwrite what was printed; a bidirectional override makes text read
backwards. So what a terminal shows has them removed (`strip_controls`) and what a log
stores has them written out visibly (`escape_controls`), one line per record. Pure.
"""

from __future__ import annotations

import re

# Whole escape sequences, so none of their parameters is left behind as litter:
# CSI (colours, cursor moves), OSC (title, hyperlinks, clipboard) and the other string
# commands (DCS, SOS, PM, APC) up to their terminator, then any other two-byte ESC x.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
# C0 and C1 controls, DEL, the bidirectional embeddings, overrides and isolates, and
# the Unicode line and paragraph separators (which some terminals treat as newlines).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def strip_controls(text: str, *, keep: str = "") -> str:
    """`text` without escape sequences or control characters, except those in `keep`
    (a printer keeps "\\n" in its own multi-line messages)."""
    if text.isprintable():
        return text  # the common case, and the cheap one
    text = _ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else "", text)


def escape_controls(text: str, *, keep: str = "") -> str:
    """`text` with each control character written as a Python escape (`\\x1b`, `\\n`,
    `\\u202e`), so a log line shows what arrived and stays one line."""
    if text.isprintable():
        return text
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1], text)
