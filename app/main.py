"""Entry point for `panel serve app`: builds one Lesson for each browser session."""

import panel as pn

from .shell import Lesson

# KaTeX ships inside Panel and is served by this server: equations need no internet.
pn.extension("katex")

# The query as text: the first value of each key, decoded leniently and cut to a sane length
# (the URL-state table checks every value; nothing here is trusted).
_args = {key[:64]: values[0].decode("utf-8", "replace")[:2000]
         for key, values in list(pn.state.session_args.items())[:64] if values}
Lesson(requested=_args.pop("chapter", ""), location=pn.state.location, args=_args).page.servable()
