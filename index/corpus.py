"""Finding and reading every article file under a corpus folder.

Per-file problems never stop a scan: each becomes a `SkippedFile` with its reason,
and the scan goes on. Hidden files and folders are ignored; symlinked files are read,
symlinked folders are not followed (a link loop cannot trap the scan).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from index.readers import ARTICLE_SUFFIXES, DEFAULT_MAX_BYTES, Article, read_article_file
from index.errors import ArticleReadError, CorpusError


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class ScanResult:
    articles: dict[str, Article] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # parts of files skipped
    ignored: int = 0  # files of other types (images, .DS_Store...)
    files: int = 0


def check_corpus(corpus: Path) -> None:
    """Raise `CorpusError` unless `corpus` is an existing folder."""
    if not corpus.exists():
        raise CorpusError(
            f"the article folder {corpus} does not exist",
            hint="Pass --corpus DIR with a folder of .txt/.md/.html/.json articles.",
        )
    if not corpus.is_dir():
        raise CorpusError(f"{corpus} is not a folder", hint="Pass --corpus DIR with a folder of articles.")


def list_article_files(corpus: Path, result: ScanResult) -> list[tuple[Path, str]]:
    check_corpus(corpus)
    found: list[tuple[Path, str]] = []

    def on_error(e: OSError) -> None:
        result.skipped.append(SkippedFile(_rel(Path(e.filename or corpus), corpus), f"folder cannot be read ({e.strerror})"))

    for dirpath, dirnames, filenames in os.walk(corpus, onerror=on_error, followlinks=False):
        base = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if (base / d).is_symlink():
                result.skipped.append(SkippedFile(_rel(base / d, corpus), "symlinked folder, not followed"))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = base / name
            if path.suffix.lower() not in ARTICLE_SUFFIXES:
                result.ignored += 1
                continue
            rel = _rel(path, corpus)
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                # A name in another encoding (bytes os.walk keeps as surrogates) made the
                # whole build fail when SQLite stored it; now only this file is skipped.
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                result.skipped.append(SkippedFile(shown, "its name is not valid UTF-8; rename the file to index it"))
                continue
            found.append((path, rel))
    return found


def _rel(path: Path, corpus: Path) -> str:
    try:
        return path.relative_to(corpus).as_posix()
    except ValueError:
        return str(path)


def scan_corpus(
    corpus: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    result = ScanResult()
    files = list_article_files(corpus, result)
    result.files = len(files)
    for i, (path, rel) in enumerate(files, start=1):
        try:
            if path.is_symlink():
                try:
                    path.stat()
                except OSError as e:
                    reason = "symlink loop" if e.errno == 40 else "broken symlink"
                    raise ArticleReadError(rel, reason) from None
            got = read_article_file(path, rel, max_bytes)
        except ArticleReadError as e:
            result.skipped.append(SkippedFile(rel, e.reason))
        except UnicodeError:
            # e.g. a JSON "\ud800" escape: text no UTF-8 file or database can hold.
            result.skipped.append(SkippedFile(rel, "holds text that is not valid Unicode (a lone surrogate escape)"))
        except RecursionError:  # JSON or YAML nested thousands of levels deep
            result.skipped.append(SkippedFile(rel, "could not be parsed (nested too deeply)"))
        except (MemoryError, ValueError) as e:
            # A parser giving up on a hostile file must not take the scan down with it.
            result.skipped.append(SkippedFile(rel, f"could not be parsed ({e.__class__.__name__})"))
        else:
            result.warnings.extend(got.warnings)
            for article in got.articles:
                if article.id in result.articles:
                    result.warnings.append(f"{rel}: duplicate article id {article.id}; later copy skipped")
                    continue
                result.articles[article.id] = article
        if progress:
            progress(i, len(files))
    return result
