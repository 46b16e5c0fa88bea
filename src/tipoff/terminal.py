"""What the command line prints: every string is text, never markup.

The `Terminal` console is the one way `tipoff` commands print. Every string it renders
(printed, or a table's cell or title) goes through `Terminal.render_str`, which reads no
Rich markup, no `:emoji:` codes and strips control characters: an account named
`Markup [/bold] Ltd` is printed as it is named, and an ANSI or OSC sequence in a name
never reaches the terminal (`tipoff.controls`). Colour is given as a `style`, or with
`styled` for a line of several styles; no command needs markup, so none can misread
data as markup.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from rich.console import Console, HighlighterType, JustifyMethod, OverflowMethod
from rich.style import Style
from rich.text import Text

from tipoff.controls import strip_controls


class Terminal(Console):
    """A rich Console that prints strings as plain text (see the module docstring).
    Lines are not wrapped at the terminal's width (`soft_wrap`): a key or URL printed
    on its own line stays copyable."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, soft_wrap=True, markup=False, emoji=False, highlight=False)

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        # markup and emoji are off whatever a caller asks: a string may hold data.
        return super().render_str(
            strip_controls(text, keep="\n\t"),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=False,
            markup=False,
            highlight=highlight,
            highlighter=highlighter,
        )


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line of several styles: each part is a string (unstyled) or (string, style),
    e.g. `styled(("Note:", "yellow"), f" {name} is not live")`. Parts are text, never
    markup, with control characters stripped as `Terminal` strips them."""
    line = Text()
    for part in parts:
        content, style = (part, "") if isinstance(part, str) else part
        line.append(strip_controls(content, keep="\n\t"), style=style)
    return line


def program() -> str:
    """How this `tipoff` was run, for the commands a hint suggests: `tipoff` when PATH
    finds this one, else its path as typed (`.venv/bin/tipoff`, as the README's setup
    runs it), and `python -m tipoff` when run as a module."""
    argv0 = sys.argv[0] if sys.argv else ""
    path = Path(argv0)
    if path.name == "__main__.py":
        return "python -m tipoff"
    if path.name != "tipoff":
        return "tipoff"
    on_path = shutil.which("tipoff")
    if on_path is not None and Path(on_path).resolve() == path.resolve():
        return "tipoff"
    relative = os.path.relpath(path) if path.is_absolute() else argv0
    return argv0 if relative.startswith("..") else relative


def with_program(message: str) -> str:
    """`message` with each `tipoff …` command in backticks as `program()` runs it. The
    services' messages name commands in the README's short form; this is where the
    command line makes them true for the user who reads them."""
    name = program()
    return message if name == "tipoff" else message.replace("`tipoff ", f"`{name} ")
