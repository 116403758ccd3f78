"""Helpers shared by the reliability suite: real CLI subprocesses, a network guard
installed in them through sitecustomize, small article folders, and a stand-in
embedder that builds stores the CLI accepts without loading the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from index.embedder import MINILM_NAME
from stand_in import HashingEmbedder

REPO = Path(__file__).resolve().parents[2]
REBUILD = "assistant index --rebuild"

# Loaded by every child Python through PYTHONPATH. With RELIABILITY_NET_LOG set it
# records, and blocks, every attempt to reach the network (connect, DNS, sendto...);
# with BUILD_PAUSE_AT set it pauses the build at that point (tests/build_pauses.py), so
# a test can kill or signal `assistant index` there, or fill its disk.
SITECUSTOMIZE = r'''
import os, sys

_log = os.environ.get("RELIABILITY_NET_LOG")
if _log:
    _WATCHED = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                "socket.gethostbyaddr", "socket.getnameinfo", "socket.sendto", "socket.sendmsg", "socket.bind",
                "http.client.connect", "urllib.Request", "ftplib.connect", "smtplib.connect")

    def _net_guard(event, args):
        if event in _WATCHED:
            with open(_log, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {event} {args!r}\n")
            if event != "socket.bind":
                raise PermissionError(f"reliability suite: network use blocked ({event})")

    sys.addaudithook(_net_guard)

if os.environ.get("BUILD_PAUSE_AT"):  # see tests/build_pauses.py
    import build_pauses

    build_pauses.install_from_env()
'''


def install_sitecustomize(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return folder


def proc_env(home: Path, site_dir: Path | None = None, *, user_default: bool = True, **extra: str) -> dict[str, str]:
    """Environment of a child process: the repo importable, an isolated home, no
    NEWS_ASSISTANT_* settings. With `user_default`, also none of the offline switches
    a user would not have set: the program must set them itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWS_ASSISTANT_", "PYTEST_"))}
    if user_default:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "TOKENIZERS_PARALLELISM"):
            env.pop(name, None)
    else:
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    paths = ([str(site_dir)] if site_dir else []) + [str(REPO), str(REPO / "tests")]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["NEWS_ASSISTANT_HOME"] = str(home)
    env["COLUMNS"] = "200"  # rich wraps at 80 otherwise; long paths stay on one line
    env.update(extra)
    return env


def cli(*args: str, env: dict[str, str], timeout: float = 240, input: str | None = None) -> subprocess.CompletedProcess:
    """`python -m assistant ARGS` in a real child process."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True,
        timeout=timeout, cwd=str(REPO), input=input,
    )


def cli_popen(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=str(REPO),
    )


def assert_friendly_failure(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 1, no traceback, an `error:` line, and each needle in stderr."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    return errors[0]


class FakeMiniLM(HashingEmbedder):
    """Builds stores whose manifest names the real model, so the CLI opens them; the
    read paths tested with it (status, errors) never embed a query."""

    name = MINILM_NAME

    def __init__(self) -> None:
        super().__init__(dim=384)


# -- article folders --------------------------------------------------------------

TOPICS = [
    ("Harbor", "ferry", "The harbor authority reopened the north pier after repairs to the ferry ramp."),
    ("Orchard", "apples", "Growers in the valley picked a record apple harvest despite the late frost."),
    ("Observatory", "telescope", "Astronomers at the mountain observatory installed a new telescope mirror."),
    ("Library", "manuscripts", "The city library digitised its collection of medieval manuscripts."),
    ("Railway", "timetable", "The regional railway published a new timetable with hourly night trains."),
    ("Vineyard", "grapes", "A hailstorm damaged grapes across three vineyards on the southern slopes."),
    ("Glacier", "meltwater", "Researchers measured record meltwater flowing from the alpine glacier."),
    ("Bakery", "sourdough", "A neighbourhood bakery won the national prize for its sourdough loaf."),
]


def article_text(i: int, title: str, keyword: str, lead: str, date: str) -> str:
    body = [
        lead,
        f"Officials said the {keyword} project number {i} would continue through the autumn. "
        f"Residents told reporters they welcomed the news about the {keyword}.",
    ]
    return "\n\n".join([date, f"{title} news item {i}", *body]) + "\n"


def write_corpus(folder: Path, n: int, start: int = 0, prefix: str = "story") -> list[Path]:
    """`n` short .txt articles, each on its own topic word, one or two chunks each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        title, keyword, lead = TOPICS[i % len(TOPICS)]
        date = f"2022-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}"
        p = folder / f"{prefix}-{i:03d}.txt"
        p.write_text(article_text(i, title, f"{keyword}{i}" if i >= len(TOPICS) else keyword, lead, date), encoding="utf-8")
        paths.append(p)
    return paths


def dir_names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def read_json_output(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    return json.loads(proc.stdout)


def dedent(s: str) -> str:
    return textwrap.dedent(s).lstrip()


# The real CLI with the stand-in embedder, for tests about files rather than meaning:
# `assistant index` exactly as users run it, minus the model's load time.
_FAKE_MODEL_CLI = (
    "import sys, assistant.api, reliability_support as r\n"
    "assistant.api.make_embedder = lambda choice: r.FakeMiniLM()\n"
    "from assistant.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def cli_with_fake_model(*args: str, env: dict[str, str], timeout: float = 180,
                        drop_dac: bool = False) -> subprocess.CompletedProcess:
    """`assistant ARGS` in a child process whose embedder is `FakeMiniLM`. With
    `drop_dac` and running as root, the child loses CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, so chmod 000 stops it as it stops a normal user."""
    argv, env = _fake_model_command(args, env, drop_dac)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))


def cli_with_fake_model_popen(*args: str, env: dict[str, str], drop_dac: bool = False) -> subprocess.Popen:
    """The same, started and left running (to be paused, signalled, killed)."""
    argv, env = _fake_model_command(args, env, drop_dac)
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO))


def _fake_model_command(args: tuple[str, ...], env: dict[str, str], drop_dac: bool) -> tuple[list[str], dict[str, str]]:
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", f"{REPO}{os.pathsep}{REPO / 'tests'}")])
    prefix: list[str] = []
    if drop_dac and os.geteuid() == 0:
        prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                  "--bounding-set=-dac_override,-dac_read_search"]
    return [*prefix, sys.executable, "-c", _FAKE_MODEL_CLI, *args], env


def can_drop_dac() -> bool:
    if os.geteuid() != 0:
        return True
    import shutil as _sh

    if not _sh.which("setpriv"):
        return False
    probe = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", "true"], capture_output=True)
    return probe.returncode == 0
