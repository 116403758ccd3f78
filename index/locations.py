"""Where things live on disk. Computed when asked, never at import time, and every
location can be overridden (flag > environment > config file > default)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

APP = "news-assistant"


def data_dir() -> Path:
    env = os.environ.get("NEWS_ASSISTANT_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def config_file() -> Path:
    env = os.environ.get("NEWS_ASSISTANT_CONFIG")
    if env:
        return Path(env).expanduser()
    if os.environ.get("NEWS_ASSISTANT_HOME"):
        return data_dir() / "config.toml"
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False) / "config.toml"


def default_store_for(corpus: Path) -> Path:
    """One store per corpus folder, named after it, under the data directory."""
    resolved = corpus.expanduser().resolve()
    tag = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    return data_dir() / "stores" / f"{resolved.name or 'root'}-{tag}"


def conversations_dir() -> Path:
    return data_dir() / "conversations"


def exports_dir() -> Path:
    return data_dir() / "exports"
