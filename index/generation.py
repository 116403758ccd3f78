"""Which generation of a store is live, and what it was built with: the CURRENT
pointer and each generation's manifest (see `index.store` for the layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from index.errors import StoreCorruptError, StoreMismatchError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
# The remedy (build again from the articles) is the error class's `remedy`; each front
# end says it in its own terms (a command, a key).
REBUILD_HINT: str | None = None


class Manifest(BaseModel):
    """manifest.json: what a generation was built with."""

    format_version: int
    generation: int
    model: str
    dim: int
    chunker: str
    corpus: str
    created: str
    articles: int
    chunks: int


@dataclass(frozen=True)
class StoreSpec:
    """What the reader expects a store to have been built with."""

    model: str
    dim: int
    chunker: str


def current_generation(root: Path) -> Path | None:
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreCorruptError(f"cannot read {root / CURRENT}: {e}", hint=REBUILD_HINT) from None
    except UnicodeDecodeError:  # garbage bytes in CURRENT were a traceback, not this message
        raise StoreCorruptError(f"{root / CURRENT} is damaged", hint=REBUILD_HINT) from None
    if not name.startswith("gen-") or "/" in name:
        raise StoreCorruptError(f"{root / CURRENT} is damaged", hint=REBUILD_HINT)
    return root / name


def read_manifest(gen: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((gen / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise StoreCorruptError(f"the index at {gen.parent} is incomplete ({gen.name} has no manifest)", hint=REBUILD_HINT) from None
    except (ValidationError, ValueError, OSError):
        raise StoreCorruptError(f"the index manifest {gen / MANIFEST} is damaged", hint=REBUILD_HINT) from None


def check_spec(manifest: Manifest, spec: StoreSpec | None, root: Path) -> None:
    if manifest.format_version != FORMAT_VERSION:
        raise StoreMismatchError(
            f"the index at {root} has format {manifest.format_version}, this version reads {FORMAT_VERSION}",
            hint=REBUILD_HINT,
        )
    if spec is None:
        return
    for field in ("model", "dim", "chunker"):
        have, want = getattr(manifest, field), getattr(spec, field)
        if have != want:
            raise StoreMismatchError(
                f"the index at {root} was built with {field} {have!r}, but {want!r} is configured",
                hint=REBUILD_HINT,
            )
