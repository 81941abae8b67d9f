"""What every CLI module shares: options, errors as one line, tables or JSON output.

Every table (:func:`table`) and every ``-o json`` answer (:func:`emit_json`) goes through
:func:`headwater.masking.redact` here, once for all commands: a value under a sensitive key
(``password``, ``extra.api_key``, a conf's ``token``), the value of a row or record named like a
secret (variable ``db_password``, setting ``secrets.fernet_key``) and any secret this process
registered (a task run by ``dags test``) show as ``***``. The CLI does not know the secrets a
worker registered in its own process; those were masked before they were stored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from headwater.loading.dagbag import DagBag
    from headwater.services._schema import Schema
    from headwater.services.context import ServiceContext

F = TypeVar("F", bound=Callable[..., Any])


def _existing_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    # A --folder that does not exist is a mistyped option (exit 2), not an import error.
    if value is not None and not value.exists():
        raise click.BadParameter(
            f"{value} does not exist; give a DAG file or a folder of them", param_hint="--folder"
        )
    return value


folder_option = click.option(
    "--folder",
    "-f",
    type=click.Path(path_type=Path),
    default=None,
    callback=_existing_folder,
    help="Folder (or file) of DAGs. Default: the dags_folder setting ($HEADWATER_DAGS_FOLDER).",
)
file_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default=None,
    help="File format; default: by the extension (.json, .yaml, .yml).",
)
"""``--format`` of the commands that export to or import from a file."""

output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables for people, JSON for scripts.",
)


def _refuse_empty(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter(
            "must not be empty; leave the option out to get the default run id"
        )
    return value


run_id_option = click.option(
    "--run-id",
    callback=_refuse_empty,
    help="Run id; default: manual__<logical date>.",
)


def cli_actor() -> str:
    """Who the event log says made a change from the CLI: ``cli:<OS user>``."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's user, say)
        import os

        user = str(os.getuid())
    return f"cli:{user}"


def handle_errors(fn: F) -> F:
    """Turn headwater's errors, and a database that cannot be reached, into one clear line on
    stderr and exit code 1; a quoted value over 100 characters (a pasted id) is cut, not
    echoed whole."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from headwater.exceptions import HeadwaterError
        from headwater.shown_text import cut_long_quoted

        try:
            return fn(*args, **kwargs)
        except HeadwaterError as exc:
            raise click.ClickException(cut_long_quoted(str(exc))) from None
        except Exception as exc:
            from headwater.services.database_errors import unreachable_database

            problem = unreachable_database(exc)
            if problem is None:
                raise
            raise click.ClickException(cut_long_quoted(str(problem))) from None

    return wrapper  # type: ignore[return-value]


UNWRAPPED_WIDTH = 100_000
"""The width of a console that is not a terminal: wide enough that no line is wrapped and
no table cell folded or cut (rich tables only take the width their cells need)."""


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr). On a terminal it wraps to the window; written
    to a file or a pipe it never wraps, so each record stays on one line for grep."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = UNWRAPPED_WIDTH
    return out


def load_bag(folder: Path | None) -> DagBag:
    from headwater.exceptions import HeadwaterError
    from headwater.loading.dagbag import DagBag
    from headwater.settings import load_settings

    settings = load_settings()  # checked even with --folder: a mistyped variable is an error
    if folder is None and not settings.dags_folder.exists():
        from headwater.private_files import file_in_the_way

        # Most likely a wrong setting (or a first run): say which, rather than list the
        # folder as a file that failed to import.
        blocker = file_in_the_way(settings.dags_folder)
        problem = (
            f"is under {blocker}, which is a file, not a folder:"
            if blocker is not None
            else f"does not exist: create it (mkdir -p {settings.dags_folder}) and put DAG "
            "files in it, or"
        )
        raise HeadwaterError(
            f"core.dags_folder {settings.dags_folder} {problem} set HEADWATER_DAGS_FOLDER "
            "(or --folder) to the folder of your DAG files"
        )
    return DagBag(
        folder if folder is not None else settings.dags_folder,
        # Each file within the DAG processor's limit: a file that hangs is an import error.
        import_timeout_s=settings.scheduler.file_parse_timeout_s,
        airflow_compat=settings.core.airflow_compat,
    )


def require_logs_folder(logs_folder: Path | None = None) -> None:
    """For the commands that run tasks: the logs folder (the setting unless given) is
    created owner-only when missing, or refused with one line naming the setting."""
    from headwater.runtime.logs import require_logs_folder as check
    from headwater.settings import load_settings

    check(logs_folder if logs_folder is not None else load_settings().logs_folder)


def parse_json_object(text: str | None, option: str) -> dict[str, Any]:
    """The JSON object given to ``option`` (empty when not given); else a usage error
    (exit code 2). Parsed strictly (:mod:`headwater.strict_json`): no NaN, Infinity or
    duplicate keys, which the databases would refuse or lose."""
    from headwater.strict_json import InvalidJsonError, loads_object

    if text is None:
        return {}
    try:
        return loads_object(text, option)
    except InvalidJsonError as exc:
        message = str(exc).removeprefix(f"{option}: ")
        raise click.BadParameter(message, param_hint=option) from None


def parse_conf(text: str | None) -> dict[str, Any]:
    return parse_json_object(text, "--conf")


def parse_date(text: str | None, option: str = "--logical-date") -> datetime | None:
    """An ISO date or date-time; without a timezone it is taken as UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date like 2024-01-31 or 2024-01-31T06:00:00+00:00",
            param_hint=option,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def emit_json(data: Any) -> None:
    """``data`` as standard JSON on stdout, redacted (see the module's docstring). NaN or
    infinity (in rows stored on SQLite before inputs were checked) are written as the
    strings "NaN", "Infinity", "-Infinity"."""
    from headwater.masking import redact
    from headwater.strict_json import non_finite_as_text

    shown = redact(non_finite_as_text(data))
    sys.stdout.write(json.dumps(shown, indent=2, default=str) + "\n")


def emit_schema(data: Schema | Sequence[Schema]) -> None:
    """A service's answer (one schema object or a list of them) as JSON on stdout: the
    schema's own JSON (:meth:`~headwater.services._schema.Schema.to_json`), which the REST
    API answers too."""
    if isinstance(data, Sequence):
        emit_json([item.to_json() for item in data])
    else:
        emit_json(data.to_json())


def when(value: datetime | None) -> str:
    """A time for people: ISO 8601 to the second, empty when unset."""
    return value.isoformat(timespec="seconds") if value is not None else ""


def confirm(question: str, yes: bool) -> None:
    """Ask on stderr (stdout stays clean for JSON) unless ``--yes``; no aborts with exit 1."""
    if not yes:
        click.confirm(question, abort=True, err=True)


def warn_if_paused(ctx: ServiceContext, dag_id: str) -> None:
    """A note on stderr when ``dag_id`` is paused: the runs just queued wait for it."""
    from headwater.services.dags import is_paused

    if is_paused(ctx, dag_id):
        console(stderr=True).print(
            f"Note: DAG {dag_id} is paused; its runs wait until `headwater dags unpause {dag_id}`."
        )


def shown_plain(value: object) -> str:
    """``value`` as text safe for a terminal: control characters (a terminal escape sequence
    in a stored value, say) are shown escaped, like ``\\x1b``, never sent raw."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def plain(value: object) -> Any:
    """``value`` as a rich ``Text``: printed as it is, never read as markup (a value
    ``[red]x[/red]`` stays that), with control characters escaped (:func:`shown_plain`)."""
    from rich.text import Text

    return Text(shown_plain(value))


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A rich table of ``rows``, redacted (:func:`redacted_row`); each cell is shown as
    plain text (:func:`plain`)."""
    from rich.table import Table

    result = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        # The first column names the row: never cut it; long values fold onto more lines.
        result.add_column(column, no_wrap=index == 0, overflow="fold")
    for row in rows:
        result.add_row(*[plain("" if v is None else v) for v in redacted_row(columns, row)])
    return result


def redacted_row(columns: Sequence[str], row: Sequence[Any]) -> list[Any]:
    """One table row as :func:`headwater.masking.redact` shows the record it is: a cell
    under a sensitive column, the ``value`` of a row whose ``key``/``setting``/``name`` is
    sensitive, and registered secrets in any cell become ``***``."""
    from headwater.masking import redact

    cells = list(row)
    if len(set(columns)) != len(columns) or len(cells) != len(columns):
        names = [*columns, *[None] * len(cells)]
        return [redact(cell, name) for name, cell in zip(names, cells, strict=False)]
    shown = redact(dict(zip(columns, cells, strict=True)))
    return [shown[column] for column in columns]
