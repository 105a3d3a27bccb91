"""A browser tab without the browser: one Bokeh server session driven over its websocket.

``Session`` speaks just enough of the Bokeh server protocol to be a student: it opens a session
the way a page does (``ws://host/app/ws?chapter=...`` with a session token), pulls the document,
keeps an index of the models and their attributes up to date from the server's patches, and
sends what a page sends: a button press (a ``dom_event``), a message from a custom component (a
``data_event``, as the spline plot sends for a dragged coefficient) or a changed property (a
``ModelChanged`` patch, as a typed value or the page's URL does). It never builds a Bokeh
``Document``, so thirty of them fit in one small process.

Many sessions share one asyncio loop. Used by the classroom load test (``tests/load/classroom.py``)
and by the served isolation, hostile-input and disconnect tests.
"""

import asyncio
import html
import itertools
import json
import re
import time
from urllib.parse import urlencode, urlsplit

import numpy as np
from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from bokeh.util.token import generate_jwt_token, generate_session_id
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

_IDS = itertools.count(1)


class SessionError(RuntimeError):
    """The server refused, closed or did not answer the session in time."""


def websocket_url(app_url, args=None):
    """'http://h:p/app' -> 'ws://h:p/app/ws?chapter=...'."""
    parts = urlsplit(app_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"?{urlencode(args)}" if args else ""
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/ws{query}"


def decode(value, buffers):
    """A serialized Bokeh value with its ndarrays turned into numpy arrays (the rest as sent)."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "ndarray":
            raw = value["array"]
            if isinstance(raw, dict) and raw.get("type") == "bytes":
                data = raw["data"]
                blob = buffers.get(data["id"]) if isinstance(data, dict) else None
                if blob is None and isinstance(data, str):
                    import base64
                    blob = base64.b64decode(data)
                arr = np.frombuffer(blob, dtype=value["dtype"]).copy()
            else:
                arr = np.asarray(raw, dtype=value["dtype"])
            return arr.reshape(value["shape"]) if len(value.get("shape", [])) > 1 else arr
        if kind == "map" and "entries" in value:
            return {k: decode(v, buffers) for k, v in value["entries"]}
        return value
    return value


class Session:
    """One student's tab. ``await Session(url, {"chapter": "training-lab"}).open()``.

    ``models`` maps a model id to ``{"name": ..., "attributes": {...}}`` for every model the
    session has seen, kept current from the server's patches; ``owner`` maps the data model of a
    Panel custom component (a Material UI widget, the spline plot) to the component itself, the
    model that events are sent to.
    """

    def __init__(self, app_url, args=None, timeout=60.0):
        self.app_url = app_url
        self.args = dict(args or {})
        self.timeout = timeout
        self.session_id = None
        self.models = {}
        self.owner = {}
        self.errors = []            # ERROR messages from the server, and protocol trouble
        self.patches = 0            # PATCH-DOC messages received
        self.bytes_in = 0
        self.closed = False
        self._ws = None
        self._reader = None
        self._replies = {}
        self._changed = asyncio.Event()
        self._ack = asyncio.Event()
        self._write = asyncio.Lock()
        self._protocol = Protocol()

    # -- connection -----------------------------------------------------------------------------
    async def open(self):
        self.session_id = generate_session_id()
        request = HTTPRequest(websocket_url(self.app_url, self.args), connect_timeout=self.timeout,
                              request_timeout=self.timeout)
        try:
            self._ws = await asyncio.wait_for(
                websocket_connect(request, subprotocols=["bokeh", generate_jwt_token(self.session_id)],
                                  max_message_size=256 * 2**20), self.timeout)
        except Exception as error:
            raise SessionError(f"websocket connection failed: {error!r}") from None
        # Browsers send without Nagle's delay (TCP_NODELAY); so does this tab.
        self._ws.protocol.set_nodelay(True)
        self._reader = asyncio.create_task(self._read_loop())
        try:
            await asyncio.wait_for(self._ack.wait(), self.timeout)
        except asyncio.TimeoutError:
            raise SessionError("the server did not acknowledge the websocket") from None
        await self.pull()
        # What BokehJS sends once the page has rendered; Panel runs its onload work then.
        await self._event("document_ready", {})
        return self

    async def close(self):
        if self._ws is not None and not self.closed:
            self._ws.close()
        self.closed = True
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                self._reader.cancel()

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()

    async def _read_loop(self):
        receiver = Receiver(self._protocol)
        try:
            while True:
                fragment = await self._ws.read_message()
                if fragment is None:
                    break
                self.bytes_in += len(fragment)
                message = await receiver.consume(fragment)
                if message is not None:
                    self._handle(message)
        except Exception as error:    # a broken frame: note it, end the session
            self.errors.append(f"read loop: {error!r}")
        finally:
            self.closed = True
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(SessionError("the websocket closed"))
            self._changed.set()

    def _handle(self, message):
        kind = message.header["msgtype"]
        buffers = {b.id: b.to_bytes() for b in getattr(message, "buffers", [])}
        if kind == "ACK":
            self._ack.set()
        elif kind == "PATCH-DOC":
            self.patches += 1
            for event in message.content.get("events", []):
                self._apply(event, buffers)
        elif kind == "ERROR":
            self.errors.append(f"server error: {message.content.get('text', '')[:300]}")
        reqid = message.header.get("reqid")
        if reqid in self._replies and not self._replies[reqid].done():
            self._replies[reqid].set_result((message, buffers))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _send(self, msgtype, content, wait_reply=False):
        if self.closed:
            raise SessionError("the session is closed")
        msgid = f"c{next(_IDS)}"
        future = asyncio.get_running_loop().create_future() if wait_reply else None
        if future is not None:
            self._replies[msgid] = future
        frames = [json.dumps({"msgid": msgid, "msgtype": msgtype}), "{}", json.dumps(content)]
        async with self._write:
            for frame in frames:
                await self._ws.write_message(frame)
        if future is None:
            return None
        try:
            return await asyncio.wait_for(future, self.timeout)
        except asyncio.TimeoutError:
            raise SessionError(f"no reply to {msgtype} within {self.timeout:.0f} s") from None
        finally:
            self._replies.pop(msgid, None)

    # -- the document -----------------------------------------------------------------------------
    async def pull(self):
        """Fetch the whole document afresh (what the server holds for this session right now)."""
        message, buffers = await self._send("PULL-DOC-REQ", {}, wait_reply=True)
        if message.header["msgtype"] != "PULL-DOC-REPLY":
            raise SessionError(f"PULL-DOC-REQ answered with {message.header['msgtype']}: "
                               f"{str(message.content)[:300]}")
        self.models, self.owner = {}, {}
        self.doc_json_size = len(json.dumps(message.content))
        self._index(message.content["doc"].get("roots", []), buffers)
        self.n_roots = len(message.content["doc"].get("roots", []))
        return message.content["doc"]

    def _index(self, value, buffers):
        """Record every model object found in a serialized value (depth first)."""
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if item.get("type") == "object" and "id" in item and "name" in item:
                    attrs = item.get("attributes", {})
                    entry = self.models.setdefault(item["id"], {"name": item["name"], "attributes": {}})
                    for key, val in attrs.items():
                        entry["attributes"][key] = decode(val, buffers)
                    data = attrs.get("data")
                    if isinstance(data, dict) and "id" in data:
                        self.owner[data["id"]] = item["id"]
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def _apply(self, event, buffers):
        self._index(event, buffers)
        if event.get("kind") == "ModelChanged":
            target = event["model"]["id"]
            if target in self.models:
                self.models[target]["attributes"][event["attr"]] = decode(event["new"], buffers)
                if event["attr"] == "data" and isinstance(event["new"], dict) and "id" in event["new"]:
                    self.owner[event["new"]["id"]] = target

    def attrs(self, model_id):
        return self.models[model_id]["attributes"]

    def find(self, predicate):
        """Ids of the models whose entry satisfies predicate(entry) (in no particular order)."""
        return [mid for mid, entry in list(self.models.items()) if predicate(entry)]

    def widget(self, kind, **attributes):
        """The data model id of the Material UI widget of type ``kind`` (e.g. 'Button', 'FloatInput')
        whose attributes include ``attributes``: the one the server sent last (a chapter opened
        again comes with new models; the index keeps the old ones). Raises LookupError if none."""
        pattern = re.compile(rf"^(Bounded)?{re.escape(kind)}\d*$")    # widgets.inputs.Bounded* too
        hits = self.find(lambda e: pattern.match(e["name"]) and
                         all(e["attributes"].get(k) == v for k, v in attributes.items()))
        if not hits:
            raise LookupError(f"no {kind} widget with {attributes} in the session")
        return hits[-1]

    def component(self, class_name):
        """The data model id of the Panel custom component named ``class_name`` (e.g. 'SplinePlot')
        that the server sent last; raises LookupError if there is none."""
        hits = [data for data, outer in list(self.owner.items())
                if self.models.get(outer, {}).get("attributes", {}).get("class_name") == class_name]
        if not hits:
            raise LookupError(f"no {class_name} component in the session")
        return hits[-1]

    def location(self):
        hits = self.find(lambda e: e["name"].endswith("Location"))
        if len(hits) != 1:
            raise LookupError(f"{len(hits)} Location models in the session")
        return hits[0]

    def text_of(self, css_class):
        """The markup of every HTML pane whose css_classes include css_class (unescaped)."""
        return [html.unescape(e["attributes"].get("text") or "") for e in list(self.models.values())
                if css_class in (e["attributes"].get("css_classes") or [])]

    # -- what a page sends ------------------------------------------------------------------------
    async def _event(self, name, values, wait_reply=True):
        content = {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event",
                               "msg_data": {"type": "event", "name": name, "values": values}}]}
        return await self._send("PATCH-DOC", content, wait_reply=wait_reply)

    async def click(self, data_id, wait_reply=True):
        """Press the Material UI button whose data model is ``data_id``."""
        return await self._event("dom_event", {"model": {"id": self.owner[data_id]}, "node": "click", "data": {}},
                                 wait_reply)

    async def send_msg(self, data_id, data, wait_reply=False):
        """What ``model.send_msg(data)`` sends from the custom component whose data model is ``data_id``."""
        return await self._event("data_event", {"model": {"id": self.owner[data_id]}, "data": data}, wait_reply)

    async def set(self, model_id, attr, value, wait_reply=True):
        """Change one property, as the page does when a student types into a box."""
        content = {"events": [{"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": value}]}
        return await self._send("PATCH-DOC", content, wait_reply=wait_reply)

    async def navigate(self, query):
        """Change the page's URL query (e.g. '?chapter=spline-edge'), as the browser reports it."""
        return await self.set(self.location(), "search", query)

    async def quiet(self, seconds=1.5, timeout=None):
        """Wait until no patch has arrived for ``seconds`` (the server has nothing left to send)."""
        deadline = time.perf_counter() + (self.timeout if timeout is None else timeout)
        while time.perf_counter() < deadline:
            before = self.patches
            await asyncio.sleep(seconds)
            if self.patches == before:
                return True
        raise SessionError("the session never went quiet")

    async def wait(self, predicate, timeout=None, what="the expected update"):
        """Wait until predicate() is true after some patch; return the seconds waited."""
        start = time.perf_counter()
        deadline = start + (self.timeout if timeout is None else timeout)
        while True:
            try:
                if predicate():
                    return time.perf_counter() - start
            except (LookupError, KeyError, IndexError):
                pass
            if self.closed:
                raise SessionError(f"the session closed while waiting for {what}")
            left = deadline - time.perf_counter()
            if left <= 0:
                raise SessionError(f"timed out after {timeout or self.timeout:.0f} s waiting for {what}")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except asyncio.TimeoutError:
                pass


# -- the two explorables the classroom test drives -----------------------------------------------------
LAB_STEP = re.compile(r'kx-value kx-step">([0-9,]+)<')


def lab_steps(session):
    """The training lab's step readout, as last sent (None if the lab was never in view)."""
    for text in reversed(session.text_of("kx-lab-stats")):
        found = LAB_STEP.search(text)
        if found:
            return int(found.group(1).replace(",", ""))
    return None


class SplineDriver:
    """Moves the spline edge's coefficients the way its plot does in the browser (``SplinePlot``)."""

    def __init__(self, session):
        self.session = session
        self.plot = session.component("SplinePlot")
        self.seq = int(session.attrs(self.plot).get("confirmed", 0))
        self.skipped = 0

    @property
    def n_coef(self):
        return len(self.session.attrs(self.plot)["coef"])

    def confirmed(self):
        return int(self.session.attrs(self.plot).get("confirmed", 0))

    async def send(self, kind, index, value):
        """Send one drag/release/key message; returns its seq."""
        self.seq += 1
        await self.session.send_msg(self.plot, {"kind": kind, "index": index, "value": float(value), "seq": self.seq})
        return self.seq

    async def wait_confirmed(self, seq, timeout=None):
        return await self.session.wait(lambda: self.confirmed() >= seq, timeout, what=f"confirmation of message {seq}")

    async def release(self, index, value, timeout=None):
        """Set coefficient ``index`` to ``value`` as a drag's release does; returns the round trip in
        seconds (from sending to the patch with the confirmed seq and the new curve)."""
        start = time.perf_counter()
        seq = await self.send("release", index, value)
        await self.wait_confirmed(seq, timeout)
        return time.perf_counter() - start

    async def drag(self, index, values, throttle=0.05, in_flight=2, timeout=None):
        """A drag as the page does it: one value every ``throttle`` seconds while at most ``in_flight``
        are unanswered (a value that would be one too many is overtaken by the next, as the page
        keeps only the newest), then the release, which goes at once. Returns the release's round
        trip in seconds; ``skipped`` counts the overtaken values."""
        for value in values[:-1]:
            if self.seq - self.confirmed() < in_flight:
                await self.send("drag", index, value)
            else:
                self.skipped += 1
            await asyncio.sleep(throttle)
        return await self.release(index, values[-1], timeout)
