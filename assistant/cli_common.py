"""What every command shares: the API made from the common flags, and errors turned
into one friendly line with the remedy in the CLI's own terms."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from index.errors import NewsAssistantError, StoreError

if TYPE_CHECKING:
    from assistant.api import NewsAssistant

# How a store error's remedy is done from the command line.
REMEDIES = {
    "build": "Run `assistant index` to build it from your articles.",
    "rebuild": "Run `assistant index --rebuild` to build it again from the articles.",
}


def api(args: argparse.Namespace, **extra: Any) -> "NewsAssistant":
    from assistant.api import NewsAssistant

    overrides = {"corpus": args.corpus, "store": args.store}
    overrides.update(extra)
    return NewsAssistant.from_settings(**overrides)


def hint_for(error: NewsAssistantError) -> str | None:
    if error.hint:
        return error.hint
    if isinstance(error, StoreError) and error.remedy:
        return REMEDIES[error.remedy]
    return None


def print_error(error: NewsAssistantError) -> None:
    print(f"error: {error.message}", file=sys.stderr)
    hint = hint_for(error)
    if hint:
        print(hint, file=sys.stderr)
