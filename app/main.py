"""Entry point for `panel serve app`: builds one Lesson for each browser session."""

import panel as pn

from .shell import Lesson

_requested = pn.state.session_args.get("chapter", [b""])[0].decode("utf-8", "replace")
Lesson(requested=_requested, location=pn.state.location).page.servable()
