"""Commands of the read side: chat (until the TUI lands: build and show status)."""

from __future__ import annotations

import argparse


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("chat", parents=[common], help="open the terminal chat (default command)")
    p.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.cli import cmd_index, cmd_status

    args.rebuild, args.quiet, args.json = False, False, False
    cmd_index(args)
    return cmd_status(args)
