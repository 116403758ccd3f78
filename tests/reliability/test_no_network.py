"""The default set-up makes no network connection at all.

Real processes of `assistant index` and `assistant ask`, with the real embedding model
and default settings (extractive engine), run with an audit hook that records and blocks
every connect, DNS lookup and datagram. None of the offline switches (HF_HUB_OFFLINE...)
is set in their environment: the program must not need the user to set them.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from reliability_support import proc_env, cli, read_json_output

pytestmark = pytest.mark.slow


def test_the_guard_sees_and_blocks_a_connection(tmp_path, site_dir):
    """The hook is not vacuous: a child that does reach for the network is caught."""
    log = tmp_path / "net.log"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = (
        "import socket\n"
        "for target in (lambda: socket.socket().connect(('127.0.0.1', %d)),\n"
        "               lambda: socket.getaddrinfo('example.com', 443)):\n"
        "    try:\n"
        "        target()\n"
        "    except PermissionError as e:\n"
        "        print('blocked', e.args[0].split('(')[-1])\n" % port
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], env=proc_env(tmp_path, site_dir, RELIABILITY_NET_LOG=str(log)),
                             capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    assert out.stdout.splitlines() == ["blocked socket.connect)", "blocked socket.getaddrinfo)"], out.stderr
    events = log.read_text().splitlines()
    assert any("socket.connect" in e and str(port) in e for e in events)
    assert any("socket.getaddrinfo" in e and "example.com" in e for e in events)


def test_index_then_ask_with_default_settings_touch_no_network(real_store, tmp_path, site_dir):
    # The build (the session fixture) ran under the same guard.
    assert real_store.report["published"] and real_store.report["articles"] == 8
    assert not real_store.net_log.exists(), real_store.net_log.read_text()

    log = tmp_path / "net.log"
    env = proc_env(real_store.home, site_dir, RELIABILITY_NET_LOG=str(log))
    ask = cli("ask", "Which prize did the neighbourhood bakery win?", "--json", "--as-of", "2023-01-01",
              "--corpus", str(real_store.corpus), "--store", str(real_store.store), env=env)
    answer = read_json_output(ask)
    assert not log.exists(), log.read_text()
    assert answer["engine"] == "extractive" and answer["notices"] == []
    assert answer["citations"] and answer["citations"][0]["file"] == "story-007.txt"
    assert "sourdough" in answer["answer"]
    # ask saved the conversation under the isolated home, nowhere else.
    assert list((real_store.home / "conversations").glob("*.json"))
