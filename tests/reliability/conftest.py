"""Fixtures of the reliability suite. The parent tests/conftest.py still applies: every
test has its own NEWS_ASSISTANT_HOME and no NEWS_ASSISTANT_* variable of the tester's."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from reliability_support import proc_env, cli, install_sitecustomize, read_json_output, write_corpus



@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the suite's sitecustomize.py (network guard, embed marker)."""
    return install_sitecustomize(tmp_path_factory.mktemp("site"))


@dataclass
class RealStore:
    home: Path
    corpus: Path
    store: Path
    net_log: Path
    report: dict
    stderr: str

    def copy_to(self, dest: Path) -> "RealStore":
        """A private copy (corpus and store) a test may damage or extend."""
        corpus, store = dest / "articles", dest / "store"
        shutil.copytree(self.corpus, corpus)
        shutil.copytree(self.store, store)
        return RealStore(dest, corpus, store, dest / "net.log", self.report, self.stderr)


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory, site_dir: Path) -> RealStore:
    """Eight short articles indexed by `assistant index` with the real model, in a real
    process whose every network attempt is recorded (and blocked). Its home has its
    own model cache: this build also exports the int8 model, under the same guard."""
    home = tmp_path_factory.mktemp("real-home")
    corpus, store, log = home / "articles", home / "store", home / "net.log"
    write_corpus(corpus, 8)
    proc = cli("index", "--corpus", str(corpus), "--store", str(store), "--json",
               env=proc_env(home, site_dir, RELIABILITY_NET_LOG=str(log)), timeout=300)
    report = read_json_output(proc)
    return RealStore(home, corpus, store, log, report, proc.stderr)
