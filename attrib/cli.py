"""The ``attrib`` command line.

Subcommands live in :mod:`attrib.commands` (one module per command or command group) and are
imported only when used, so ``attrib --help`` stays fast and heavy extras load lazily.
Any :class:`~attrib.errors.AttribError` becomes one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from attrib._version import __version__
from attrib.errors import AttribError

__all__ = ["COMMANDS", "cli", "main"]

#: command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "data": "attrib.commands.data:data_cmd",
    "enrich": "attrib.commands.enrich:enrich_cmd",
    "read": "attrib.commands.read:read_cmd",
    "simulate": "attrib.commands.simulate:simulate_cmd",
    "serve": "attrib.commands.serve:serve_cmd",
    "keys": "attrib.commands.serve:keys_cmd",
    "analyze": "attrib.commands.analyze:analyze_cmd",
    "store": "attrib.commands.store:store_cmd",
    "train": "attrib.commands.model:train_cmd",
    "evaluate": "attrib.commands.model:evaluate_cmd",
    "score": "attrib.commands.model:score_cmd",
}


class LazyGroup(click.Group):
    """A click group that imports subcommands on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: D102
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: D102
        if cmd_name in self.lazy:
            mod_name, attr = self.lazy[cmd_name].split(":")
            cmd = getattr(importlib.import_module(mod_name), attr)
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return cmd
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="attrib")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, debug: bool) -> None:
    """Find ORB proxy networks in connection and sign-in logs, and rank their origins."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    _plain_notices()
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _plain_notices() -> None:
    """``attrib.notice`` lines (e.g. the first compile of the pcap reader) as ``attrib: ...``.

    Informational, once, without the timestamp and level of the log format.
    """
    notice = logging.getLogger("attrib.notice")
    if not any(getattr(h, "_attrib_plain", False) for h in notice.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("attrib: %(message)s"))
        h._attrib_plain = True  # type: ignore[attr-defined]
        notice.addHandler(h)
    notice.setLevel(logging.INFO)
    notice.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn errors into one line on stderr and an exit code.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="attrib", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("attrib: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except AttribError as exc:
        if debug:
            raise
        click.echo(f"attrib: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("attrib: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # last line of defence: one line, not a traceback
        if debug:
            raise
        click.echo(
            f"attrib: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
            err=True,
        )
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
