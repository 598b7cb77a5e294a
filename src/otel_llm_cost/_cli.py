"""The ``otel-llm-cost`` command: ``report`` on span files, ``tail`` to follow one live.

Exit codes: 0 success; 1 an input file cannot be read (or a tail target is gzip); 2 bad arguments.
Malformed lines never fail a report: they are skipped, counted, and listed (first few) in it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from otel_llm_cost.report import Filters, Report

EXIT_OK: Final = 0
EXIT_INPUT: Final = 1
EXIT_USAGE: Final = 2
# Inputs smaller than this are read too fast for a progress bar to help.
_PROGRESS_BYTES: Final = 16 * 1024 * 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            return _report(args, parser)
        return _tail(args)
    except KeyboardInterrupt:
        return EXIT_OK
    except ModuleNotFoundError as exc:
        if exc.name != "ddsketch":
            raise
        print("otel-llm-cost: the report needs ddsketch: pip install ddsketch", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # `| head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-llm-cost", description="Cost, latency and token reports from LLM span files."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _report_parser(commands)
    _tail_parser(commands)
    return parser


def _report_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "report",
        help="summarise span files: cost, tokens, latency percentiles, breakdowns, charts",
        description="Read span files (otel-llm-cost JSONL or the Collector's OTLP/JSON file export, "
        "plain or gzip) and report calls, success rate, tokens, cache hits, cost by provider / model / "
        "agent / step, latency percentiles, agent step phases, the most expensive traces and unpriced "
        "models.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="span files to read")
    p.add_argument("--by", action="append", default=[], metavar="ATTR", help="also break cost down by ATTR")
    p.add_argument(
        "--since", metavar="TIME", help="calls starting at or after TIME (ISO 8601, or 30m, 2h, 7d ago)"
    )
    p.add_argument("--until", metavar="TIME", help="calls starting before TIME")
    p.add_argument("--service", metavar="NAME", help="only this service.name (wildcards allowed)")
    p.add_argument("--model", metavar="MODEL", help="only this model (wildcards allowed)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report with charts")
    p.add_argument("--top", type=int, default=10, metavar="N", help="how many expensive traces to list")
    p.add_argument("--no-charts", action="store_true", help="table format without the terminal charts")
    p.add_argument("--ascii", action="store_true", help="plain ASCII (no block characters)")
    p.add_argument("--width", type=int, metavar="COLUMNS", help="text width (default: terminal, at most 100)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None, help="always show a progress bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")


def _tail_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "tail",
        help="follow a growing span file, one line per finished LLM call",
        description="Follow a span file as it grows (surviving truncation and rotation) and print one "
        "line per finished LLM call (status, model, tokens, TTFT, duration, cost) with running totals.",
    )
    p.add_argument("path", metavar="PATH", help="span file to follow")
    p.add_argument("--from-start", action="store_true", help="show the calls already in the file first")
    p.add_argument("--once", action="store_true", help="show the calls in the file, then exit")
    p.add_argument("--max-calls", type=int, metavar="N", help="exit after N calls")
    p.add_argument("--interval", type=float, default=0.25, metavar="SECONDS", help="poll interval")
    p.add_argument("--ascii", action="store_true", help="plain ASCII output")


def _report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from otel_llm_cost.report import build_report, to_html
    from otel_llm_cost.report._progress import Progress

    filters = _filters(args, parser)
    missing = [p for p in args.paths if not Path(p).is_file()]
    if missing:
        print(f"otel-llm-cost: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_INPUT
    size = sum(Path(p).stat().st_size for p in args.paths)
    show = sys.stderr.isatty() and size >= _PROGRESS_BYTES if args.progress is None else args.progress
    progress = Progress(size, sys.stderr, args.ascii) if show else None
    try:
        report = build_report(args.paths, filters=filters, by=args.by, top=args.top, progress=progress)
    except OSError as exc:
        print(f"otel-llm-cost: cannot read {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        if progress is not None:
            progress.close()
    _write(args.output, _render(args, report))
    if args.html:
        Path(args.html).write_text(to_html(report), encoding="utf-8")
        print(f"otel-llm-cost: HTML report written to {args.html}", file=sys.stderr)
    if report.stats.malformed and args.format != "table":
        print(f"otel-llm-cost: skipped {report.stats.malformed:,} malformed line(s)", file=sys.stderr)
    return EXIT_OK


def _filters(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Filters:
    from otel_llm_cost.report import Filters, parse_time

    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except ValueError as exc:
        parser.error(str(exc))  # exits with EXIT_USAGE
    return Filters(since, until, args.service, args.model)


def _render(args: argparse.Namespace, report: Report) -> str:
    from otel_llm_cost.report import render_table, to_csv, to_json

    if args.format == "json":
        return to_json(report)
    if args.format == "csv":
        return to_csv(report)
    return render_table(report, _width(args), charts=not args.no_charts, ascii=args.ascii or not _utf8())


def _tail(args: argparse.Namespace) -> int:
    from otel_llm_cost.report._tail import TailOptions, tail

    options = TailOptions(args.from_start, args.once, args.max_calls, max(args.interval, 0.01), args.ascii)

    def ready() -> None:
        print(f"following {args.path} (Ctrl-C to stop)", file=sys.stderr, flush=True)

    try:
        totals = tail(args.path, options, sys.stdout, ready=ready)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        print(f"otel-llm-cost: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(totals.line(), flush=True)
    return EXIT_OK


def _width(args: argparse.Namespace) -> int:
    if args.width:
        return max(args.width, 60)
    if sys.stdout.isatty():
        return min(max(shutil.get_terminal_size().columns, 60), 100)
    return 80


def _utf8() -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or ""
    return encoding.lower().replace("-", "") in ("utf8", "utf8mb4")


def _write(output: str | None, text: str) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
