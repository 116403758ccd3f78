"""The `assistant` command. Thin: it parses flags, calls `assistant.api`, and turns
library errors into one friendly line (exit status 1) instead of a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Callable, Sequence

from assistant import cli_read
from assistant.cli_common import api, print_error
from assistant.cli_signals import Stopped, stop_on_signals
from assistant.untrusted import file_name, one_line
from index.errors import NewsAssistantError

if TYPE_CHECKING:
    from assistant.api import NewsAssistant


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("where")
    g.add_argument("--corpus", metavar="DIR", help="folder of articles (default: config, $NEWS_ASSISTANT_CORPUS, <data dir>/articles)")
    g.add_argument("--store", metavar="DIR", help="index folder (default: config, $NEWS_ASSISTANT_STORE, one per corpus under the data dir)")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answers questions about a folder of news articles, with verified quotes.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("index", parents=[common], help="bring the index in line with the article folder")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.add_argument("--ray", metavar="ADDRESS", help="embed on Ray: auto (a local Ray) or ray://head:10001 (needs the ray extra)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("watch", parents=[common], help="keep the index in line with the article folder until Ctrl+C")
    p.set_defaults(func=cmd_watch)
    p = sub.add_parser("status", parents=[common], help="what the index holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    cli_read.add_commands(sub, common)
    return parser


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.progress import CliProgress

    na = api(args)
    bar = CliProgress(enabled=not args.quiet and not args.json)
    target = f"Milvus at {na.settings.location().uri()}" if na.settings.backend == "milvus" else na.store_dir
    print(f"Indexing {na.corpus} into {target}", file=sys.stderr)
    try:
        with stop_on_signals():
            report = na.build_index(rebuild=args.rebuild, progress=bar, ray_address=args.ray)
    except Stopped as stopped:
        bar.close()
        print(f"error: the build stopped on {stopped.name}; {_still_live(na)}", file=sys.stderr)
        return stopped.exit_status
    finally:
        bar.close()
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(report), indent=2))
        return 0
    print_report(report)
    return 0


def _still_live(na: "NewsAssistant") -> str:
    generation = na.live_generation()
    if generation is None:
        return "no index was built. Run `assistant index` again to build it."
    return (f"the previous index (generation {generation}) is still in use. "
            "Run `assistant index` again to bring it up to date.")


def print_report(report) -> None:
    from assistant.render import count

    for note in report.notes:
        print(f"note: {one_line(note)}", file=sys.stderr)
    for s in report.skipped:
        print(f"warning: skipped {file_name(s.path)}: {one_line(s.reason)}", file=sys.stderr)
    for w in report.warnings:
        print(f"warning: {one_line(w)}", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged; {len(report.skipped)} skipped"
        + (f", {report.ignored} other files ignored" if report.ignored else "")
    )
    for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for i in ids[:20]:
            print(f"  {label}: {file_name(i)}")
        if len(ids) > 20:
            print(f"  ... and {len(ids) - 20} more {label}")
    if report.flagged:
        n = len(report.flagged)
        print(f"{count(n, 'article')} hold{'s' if n == 1 else ''} text addressed to AI assistants "
              "(indexed; that text is never sent to a model or quoted):")
        for article_id, what in list(report.flagged.items())[:20]:
            print(f"  {file_name(article_id)}: {one_line('; '.join(what))}")
        if n > 20:
            print(f"  ... and {n - 20} more")
    held = f"{count(report.articles, 'article')} in {count(report.chunks, 'chunk')}"
    if report.published:
        print(f"Embedded {count(report.embedded_chunks, 'chunk')}; index generation {report.generation} holds "
              f"{held} ({report.seconds:.1f}s).")
    else:
        print(f"Index is up to date: {held}.")


def cmd_watch(args: argparse.Namespace) -> int:
    """One line per update on stdout; what is being done, waited for or skipped on
    stderr. Ctrl+C (or SIGTERM) stops at once: a build in progress is abandoned as
    `assistant index` abandons one, and the index stays at its last complete generation."""
    import threading

    from assistant.render import update_line, watch_notice

    na = api(args)
    stop = threading.Event()
    building = False

    def on_event(event) -> None:
        nonlocal building
        building = event.kind == "building"
        line = update_line(event) if event.kind == "updated" else watch_notice(event)
        if line:
            print(line, file=sys.stdout if event.kind == "updated" else sys.stderr, flush=True)

    print(f"Watching {na.corpus} for changes (index: {na.store_dir}); Ctrl+C stops.", file=sys.stderr, flush=True)
    try:
        with stop_on_signals():
            na.watch(on_event, stop)
    # While the watcher waits for events a signal surfaces as KeyboardInterrupt
    # (watchfiles turns the handler's exception into its own), during a build as Stopped.
    except (Stopped, KeyboardInterrupt) as e:
        stop.set()
        if not building:
            print("Stopped watching.", file=sys.stderr)
            return 0
        name, status = (e.name, e.exit_status) if isinstance(e, Stopped) else ("SIGINT", 130)
        print(f"Stopped watching during a build (on {name}): the build was abandoned; {_still_live(na)}",
              file=sys.stderr)
        return status
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    info = api(args).status()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for k, v in info.items():
            print(f"{k:<{width}}  {v}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from index.embedder import offline_environment

    offline_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:  # bare `assistant` opens the chat
        args = parser.parse_args(["chat", *(argv if argv is not None else sys.argv[1:])])
        func = args.func
    try:
        return func(args)
    except NewsAssistantError as e:
        print_error(e)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
