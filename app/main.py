"""Entry point for `panel serve app`: builds one Lesson for each browser session."""

import panel as pn

from .shell import Lesson

# KaTeX ships inside Panel and is served by this server: equations need no internet.
pn.extension("katex")

_requested = pn.state.session_args.get("chapter", [b""])[0].decode("utf-8", "replace")
Lesson(requested=_requested, location=pn.state.location).page.servable()
