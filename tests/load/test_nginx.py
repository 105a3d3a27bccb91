"""The sample nginx configuration (assets/deploy/nginx/kan-classroom.conf) passes ``nginx -t`` and
serves a small classroom: several ``panel serve`` processes behind one address.

Needs Debian's nginx (``.ci/run`` installs it); skipped where there is none. Runs without root:
a temporary prefix, loopback and high ports.
"""

import pytest

from tests.load import classroom, nginx

pytestmark = pytest.mark.slow

needs_nginx = pytest.mark.skipif(nginx.find_nginx() is None,
                                 reason="nginx is not installed (on Debian: apt-get install -y nginx)")


def test_the_sample_balances_with_least_conn_and_passes_websocket_upgrades():
    text = nginx.SAMPLE.read_text()
    for line in ("least_conn;", "proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $connection_upgrade;", "proxy_read_timeout", "proxy_buffering off;"):
        assert line in text
    site = nginx.site_config(["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], "127.0.0.1:9090")
    assert site.count("server 127.0.0.1:700") == 3 and "listen 127.0.0.1:9090;" in site
    upstream = site.split("upstream", 1)[1].split("}", 1)[0]
    servers = [line.strip() for line in upstream.splitlines() if line.strip().startswith("server ")]
    assert len(servers) == 3 and not any("5006" in line or "5007" in line for line in servers)


@needs_nginx
def test_nginx_accepts_the_sample_configuration():
    ok, output = nginx.check()
    assert ok, output


@needs_nginx
def test_a_small_classroom_through_nginx_completes_without_errors():
    figures = classroom.run(sessions=3, seconds=5, through_nginx=True, ramp=1.0, watch=2.0, idle_probes=3, warm=2,
                            log=lambda *a: None)
    classroom.report(figures)
    assert figures["workers"] == 2
    assert figures["completed"] == figures["sessions"], figures["failed"]
    assert not figures["trouble"], figures["trouble"]
    assert not figures["probe_failures"], figures["probe_failures"]
