"""Run the repository's sample nginx configuration without root: a temporary prefix, high ports.

``assets/deploy/nginx/kan-classroom.conf`` is written for a real install (included in the
``http`` block of nginx.conf, listening on port 80, backends on 5006 and 5007). ``site_config``
rewrites only its ``listen`` line and the ``server`` lines of its upstream; ``main_config`` wraps
it the way nginx.conf does, with every file nginx writes (pid, logs, temporary files) under one
temporary directory. ``Nginx`` runs it in the foreground and stops it again.
"""

import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "assets" / "deploy" / "nginx" / "kan-classroom.conf"

_UPSTREAM = re.compile(r"(upstream\s+kan_classroom\s*\{)(.*?)(\})", re.S)
_SERVER_LINE = re.compile(r"^(\s*)server\s+\S+(.*?);\s*$", re.M)
_LISTEN = re.compile(r"^(\s*)listen\s+80;\s*$", re.M)


def find_nginx():
    """The nginx binary, or None."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def site_config(backends, listen, sample=SAMPLE):
    """The sample with its upstream servers replaced by ``backends`` ('127.0.0.1:PORT' each) and
    its ``listen 80`` by ``listen``; raises ValueError if the sample no longer has those lines."""
    text = Path(sample).read_text()
    upstream = _UPSTREAM.search(text)
    if upstream is None or not _SERVER_LINE.search(upstream.group(2)) or not _LISTEN.search(text):
        raise ValueError(f"{sample} no longer has an 'upstream kan_classroom' with server lines and a "
                         f"'listen 80;' line; update tests/load/nginx.py with it.")
    body = upstream.group(2)
    indent = _SERVER_LINE.search(body).group(1)
    kept = _SERVER_LINE.sub("", body)                      # least_conn and the comments stay
    servers = "".join(f"{indent}server {b} max_fails=3 fail_timeout=10s;\n" for b in backends)
    text = text[:upstream.start(2)] + kept.rstrip() + "\n" + servers + text[upstream.end(2):]
    return _LISTEN.sub(lambda m: f"{m.group(1)}listen {listen};", text)


def main_config(prefix, site_path):
    """An nginx.conf that includes ``site_path`` and keeps every file it writes under ``prefix``."""
    prefix = Path(prefix)
    temp = {name: prefix / "temp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""# written by tests/load/nginx.py
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix / 'access.log'};
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {site_path};
}}
"""


def prepare(prefix, backends, listen, sample=SAMPLE):
    """Write site.conf and nginx.conf under ``prefix``; returns the path of nginx.conf."""
    prefix = Path(prefix)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
    # Started as root, nginx's workers run as an unprivileged user: let them write here.
    for path in [prefix, prefix / "temp", *(prefix / "temp").iterdir()]:
        path.chmod(0o777)
    site = prefix / "site.conf"
    site.write_text(site_config(backends, listen, sample))
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site))
    return conf


def nginx_args(binary, prefix, conf):
    return [binary, "-p", str(prefix), "-e", str(Path(prefix) / "error.log"), "-c", str(conf)]


def check(backends=("127.0.0.1:5006", "127.0.0.1:5007"), listen="127.0.0.1:8080", sample=SAMPLE, binary=None):
    """``nginx -t`` on the sample in a temporary prefix; returns (ok, output)."""
    binary = binary or find_nginx()
    with tempfile.TemporaryDirectory(prefix="kx-nginx-") as prefix:
        conf = prepare(prefix, backends, listen, sample)
        done = subprocess.run([*nginx_args(binary, prefix, conf), "-t"], capture_output=True, text=True, timeout=60)
        return done.returncode == 0, (done.stdout + done.stderr).strip()


class Nginx:
    """nginx in the foreground on 127.0.0.1:``port`` in front of ``backends``; a context manager."""

    def __init__(self, backends, port, binary=None):
        self.binary = binary or find_nginx()
        if self.binary is None:
            raise RuntimeError("nginx is not installed (on Debian: apt-get install -y nginx).")
        self.backends = list(backends)
        self.port = port
        self.url = f"http://127.0.0.1:{port}/app"
        self._dir = None
        self.proc = None

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="kx-nginx-")
        self.prefix = Path(self._dir.name)
        conf = prepare(self.prefix, self.backends, f"127.0.0.1:{self.port}")
        self.proc = subprocess.Popen([*nginx_args(self.binary, self.prefix, conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with code {self.proc.returncode}:\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("nginx did not start listening within 30 s")

    def error_log(self):
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pids(self):
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)       # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._dir is not None:
            self.errors = self.error_log()
            self._dir.cleanup()
        return False
