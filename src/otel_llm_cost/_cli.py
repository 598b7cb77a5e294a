"""The ``otel-llm-cost`` command: ``report`` on span files, ``tail`` to follow one live.

Exit codes: 0 success; 1 an input or output file cannot be used (missing, not a regular file or a
directory of them, compressed for ``tail``, needing a package not installed, unwritable), or anything
else went wrong; 2 bad arguments. Every failure is one line on stderr, never a traceback. Malformed
lines never fail a report: they are skipped, counted, and listed (first few) in it. Everything printed
passes one filter (``report._term``) that neutralises control characters, escape sequences and bidi
overrides from the files read.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, NoReturn

from otel_llm_cost.version import __version__

if TYPE_CHECKING:
    from otel_llm_cost.report import Filters, Report

EXIT_OK: Final = 0
EXIT_INPUT: Final = 1
EXIT_USAGE: Final = 2
# Inputs smaller than this are read too fast for a progress bar to help.
_PROGRESS_BYTES: Final = 16 * 1024 * 1024
# From this much input on, `--engine auto` uses DuckDB when it is installed (the Python engine takes
# tens of seconds there; below, it is quick and computes everything).
_DUCKDB_BYTES: Final = 64 * 1024 * 1024


class _Exit(Exception):
    """Stop with ``code`` after printing ``message`` (one line) on stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # never fail on a character the terminal cannot show
            stream.reconfigure(errors="replace")
    try:
        args = _parser().parse_args(argv)
        if args.command == "report":
            return _report(args)
        return _tail(args)
    except _Exit as stop:
        _say(str(stop))
        return stop.code
    except KeyboardInterrupt:
        return EXIT_OK
    except ModuleNotFoundError as exc:
        _say(f"the report needs {exc.name}: pip install 'otel-llm-cost[report]'")
        return EXIT_INPUT
    except BrokenPipeError:  # `| head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (OSError, ValueError, ArithmeticError, RecursionError, MemoryError) as exc:
        _say(f"{exc.__class__.__name__}: {exc}")
        return EXIT_INPUT
    except Exception as exc:  # a bug of ours: still one line, not a traceback
        _say(f"internal error (please report it): {exc.__class__.__name__}: {exc}")
        return EXIT_INPUT


def _say(message: str, prefix: str = "otel-llm-cost: ") -> None:
    from otel_llm_cost.report._term import safe_cell

    print(prefix + safe_cell(message), file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise _Exit(EXIT_USAGE, f"{message} (see {self.prog} --help)")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="otel-llm-cost", description="Cost, latency and token reports from LLM span files.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _report_parser(commands)
    _tail_parser(commands)
    return parser


def _report_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "report",
        help="summarise span files: cost, tokens, latency percentiles, breakdowns, charts",
        description="Read span files (otel-llm-cost JSONL or the Collector's file exporter output: "
        "OTLP/JSON or binary, plain, gzip or zstd; a directory: every file under it) and report calls, "
        "success rate, tokens, cache hits, cost by provider / model / agent / step, latency percentiles, "
        "agent step phases, the most expensive traces and unpriced models.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="span files to read, or directories of them (oldest first)"
    )
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
    p.add_argument(
        "--top", type=_count, default=10, metavar="N", help="how many expensive (and slowest) traces to list"
    )
    p.add_argument(
        "--trace",
        metavar="TRACE_ID",
        help="show one trace's spans as a tree (an id, or 8+ leading hex digits)",
    )
    p.add_argument("--no-charts", action="store_true", help="table format without the terminal charts")
    p.add_argument("--ascii", action="store_true", help="plain ASCII (no block characters)")
    p.add_argument(
        "--width", type=_count, metavar="COLUMNS", help="text width (default: terminal, at most 100)"
    )
    p.add_argument(
        "--engine",
        choices=("auto", "python", "duckdb"),
        default="auto",
        help="duckdb: many times faster on large otel-llm-cost JSONL files (pip install duckdb); python: "
        "also sampled estimates, cost per billed part, unreadable lines; auto (default): duckdb for 64 MiB "
        "and more when installed. OTLP/JSON input and --by use the python engine",
    )
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
    p.add_argument("--max-calls", type=_count, metavar="N", help="exit after N calls")
    p.add_argument("--interval", type=_seconds, default=0.25, metavar="SECONDS", help="poll interval")
    p.add_argument("--ascii", action="store_true", help="plain ASCII output")


def _report(args: argparse.Namespace) -> int:
    from otel_llm_cost.report import build_report, render_trace, to_html
    from otel_llm_cost.report._progress import Progress
    from otel_llm_cost.report._records import UnsupportedInput

    filters = _filters(args)
    args.paths = _input_files(args.paths)
    size = sum(Path(p).stat().st_size for p in args.paths)
    # Outputs are opened first: an unwritable path fails before minutes of reading, not after.
    output = _open_output(args.output)
    html = _open_output(args.html)
    show = sys.stderr.isatty() and size >= _PROGRESS_BYTES if args.progress is None else args.progress
    progress = Progress(size, sys.stderr, args.ascii) if show else None
    try:
        report = _fast_report(args, filters) if _wants_duckdb(args, size) else None
        if report is None:
            report = build_report(
                args.paths, filters=filters, by=args.by, top=args.top, progress=progress, trace=args.trace
            )
    except OSError as exc:
        raise _Exit(EXIT_INPUT, f"cannot read {exc.filename or ''}: {exc.strerror or exc}") from None
    except UnsupportedInput as exc:
        raise _Exit(EXIT_INPUT, str(exc)) from None
    finally:
        if progress is not None:
            progress.close()
    if args.trace:
        found = report.trace(args.trace)
        if found is None:
            raise _Exit(EXIT_INPUT, f"no trace with LLM calls has the id {args.trace}")
        width = args.width or max(_width(args), 120)  # a wide table: names, figures and a bar
        _write(output, render_trace(found, width, ascii=args.ascii or not _utf8()))
        return EXIT_OK
    _write(output, _render(args, report))
    if html is not None:
        _write(html, to_html(report))
        _say(f"HTML report written to {args.html}")
    if report.stats.malformed and args.format != "table":
        _say(f"skipped {report.stats.malformed:,} malformed line(s)")
    return EXIT_OK


def _wants_duckdb(args: argparse.Namespace, size: int) -> bool:
    if args.by or args.engine == "python":
        return False
    if args.engine == "duckdb":
        return True
    from otel_llm_cost.report._duckdb import available

    return size >= _DUCKDB_BYTES and available()


def _fast_report(args: argparse.Namespace, filters: Filters) -> Report | None:
    """The report by the DuckDB engine, or ``None`` when the input needs (or falls back to) the Python one."""
    from otel_llm_cost.report._duckdb import EngineUnsupported, duckdb_report
    from otel_llm_cost.report._records import file_container

    chosen = args.engine == "duckdb"
    try:
        framed = next((p for p in args.paths if file_container(p) not in ("lines", "gzip")), None)
        if framed is not None:
            raise EngineUnsupported(
                f"{framed} is zstd or length-prefixed: the duckdb engine reads JSON lines"
            )
        report = duckdb_report(args.paths, filters, args.top, trace=args.trace)
    except EngineUnsupported as exc:
        if chosen:
            _say(f"{exc}; using the python engine")
        return None
    except ModuleNotFoundError as exc:
        if exc.name != "duckdb":
            raise
        raise _Exit(EXIT_INPUT, "the duckdb engine needs it: pip install 'otel-llm-cost[duckdb]'") from None
    except Exception as exc:  # duckdb.Error and its kin: the engine could not read the input
        if exc.__class__.__module__.split(".")[0] != "duckdb":
            raise
        if chosen:
            raise _Exit(EXIT_INPUT, f"duckdb: {exc}") from None
        _say(f"duckdb: {exc}; using the python engine")
        return None
    if not chosen:
        _say(
            "large input: computed by the duckdb engine (--engine python adds sampled estimates, "
            "cost per billed part and a count of unreadable lines)"
        )
    return report


def _input_files(paths: list[str]) -> list[str]:
    """The files to read: each path a regular file, or a directory holding some."""
    from otel_llm_cost.report._inputs import input_files

    try:
        for path in paths:
            _check_input(path)
            if os.path.isdir(path) and not input_files([path]):
                raise _Exit(EXIT_INPUT, f"no span files in {path}")
        return input_files(paths)
    except OSError as exc:
        raise _Exit(EXIT_INPUT, f"cannot read {exc.filename or ''}: {exc.strerror or exc}") from None


def _check_input(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _Exit(EXIT_INPUT, f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise _Exit(EXIT_INPUT, f"not a regular file or directory: {path}")


def _open_output(path: str | None) -> IO[str] | None:
    if not path:
        return None
    try:
        return open(path, "w", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise _Exit(EXIT_INPUT, f"cannot write {path}: {exc.strerror or exc}") from None


def _filters(args: argparse.Namespace) -> Filters:
    from otel_llm_cost.report import Filters, parse_time

    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except (ValueError, OverflowError) as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from None
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

    options = TailOptions(args.from_start, args.once, args.max_calls, args.interval, args.ascii)

    def ready() -> None:
        _say(f"following {args.path} (Ctrl-C to stop)", prefix="")

    try:
        totals = tail(args.path, options, sys.stdout, ready=ready)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise _Exit(EXIT_INPUT, str(exc)) from None
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


def _write(output: IO[str] | None, text: str) -> None:
    from otel_llm_cost.report._term import safe_text

    if output is None:
        sys.stdout.write(safe_text(text))
        sys.stdout.flush()
        return
    try:
        with output:
            output.write(text)
    except OSError as exc:
        raise _Exit(EXIT_INPUT, f"cannot write {output.name}: {exc.strerror or exc}") from None
