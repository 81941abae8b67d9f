"""Daily user activity report: fetch a day of events from an API, summarise them, write a report.

The pipeline, one run per day (``{{ ds }}`` is the day being processed)::

    fetch_events  ->  summarize_events  ->  write_report
    (Python: HTTP     (bash: sort/uniq/awk   (Python: markdown report
     API -> CSV)       over the CSV)          under output_dir)

It shows:

* a TaskFlow ``@task`` that reads context values (``ds``, ``params``) by parameter name and
  returns a dict whose keys downstream tasks can use one by one (``multiple_outputs``);
* a ``BashOperator`` whose command is a Jinja-templated ``.sh`` file next to this one, getting
  an upstream value through its ``env``;
* params with defaults and JSON-schema validation, overridable per run with ``--conf``.

Try it (start the mock API first, in another terminal)::

    python examples/_mock_api.py --port 8765
    headwater dags test user_activity_report --folder examples --logical-date 2024-01-31
"""

from __future__ import annotations

import csv
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater import Param, dag, task
from headwater.operators import BashOperator

# Outputs go next to this file by default (examples/output/ is git-ignored).
DEFAULT_OUTPUT_DIR = str(Path(__file__).resolve().parent / "output")
EVENT_COLUMNS = ["event_id", "user_id", "event_type", "timestamp"]


@dag(
    dag_id="user_activity_report",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    # It needs the mock API (examples/_mock_api.py): the scheduler leaves it paused until
    # you start the API and run `headwater dags unpause` (dags test runs it regardless).
    is_paused_upon_creation=True,
    tags=["example", "http", "bash"],
    params={
        "api_url": Param(
            "http://127.0.0.1:8765",
            type="string",
            pattern="^https?://",
            description="Base URL of the activity API (see examples/_mock_api.py).",
        ),
        "output_dir": Param(
            DEFAULT_OUTPUT_DIR,
            type="string",
            minLength=1,
            description="Folder for the day's work files and the report.",
        ),
        "top_n": Param(
            5,
            type="integer",
            minimum=1,
            maximum=50,
            description="How many of the most active users the report lists.",
        ),
        "timeout_seconds": Param(10, type="number", exclusiveMinimum=0),
    },
)
def user_activity_report() -> None:
    """Fetch one day of user activity events, summarise them with shell tools, write a report."""

    @task(retries=2, retry_delay=timedelta(seconds=5))
    def fetch_events(ds: str, params: dict[str, Any]) -> dict[str, Any]:
        """Download the events of day ``ds`` and save them as CSV for the bash step."""
        url = f"{params['api_url'].rstrip('/')}/activity?date={ds}"
        print(f"Fetching {url}")
        events = json.loads(http_get(url, timeout=params["timeout_seconds"]))["events"]

        day_dir = Path(params["output_dir"]) / "user_activity" / ds
        day_dir.mkdir(parents=True, exist_ok=True)
        events_file = day_dir / "events.csv"
        with events_file.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EVENT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(events)
        print(f"Saved {len(events)} events to {events_file}")
        # A dict return with a `dict[...]` annotation: downstream tasks can use each key,
        # e.g. fetched["events_file"].
        return {"events_file": str(events_file), "event_count": len(events)}

    fetched = fetch_events()

    # The command is the file scripts/summarize_activity.sh (found next to this DAG file),
    # rendered with Jinja first: it uses {{ ds }} and {{ params.top_n }}. The path of the CSV
    # comes from the upstream task through `env`; append_env keeps PATH and the rest.
    # The last line the script prints (the summary folder) becomes this task's value.
    summary_dir = BashOperator(
        task_id="summarize_events",
        bash_command="scripts/summarize_activity.sh",
        env={"EVENTS_FILE": fetched["events_file"]},
        append_env=True,
    ).output

    @task
    def write_report(summary_dir: str, event_count: int, ds: str, params: dict[str, Any]) -> str:
        """Turn the bash step's TSV files into a markdown report; returns the report's path."""
        folder = Path(summary_dir)
        totals = dict(_read_tsv(folder / "totals.tsv"))
        by_type = _read_tsv(folder / "events_by_type.tsv")
        top_users = _read_tsv(folder / "top_users.tsv")
        if int(totals["events"]) != event_count:  # a cheap consistency check between the steps
            raise ValueError(f"bash step counted {totals['events']} events, fetched {event_count}")

        lines = [
            f"# User activity report for {ds}",
            "",
            f"- Events: {totals['events']}",
            f"- Active users: {totals['users']}",
            "",
            "## Events by type",
            "",
            "| event type | events |",
            "|---|---:|",
            *[f"| {name} | {count} |" for name, count in by_type],
            "",
            f"## Top {len(top_users)} users",
            "",
            "| user | events |",
            "|---|---:|",
            *[f"| {user} | {count} |" for user, count in top_users],
            "",
        ]
        report = Path(params["output_dir"]) / "user_activity" / f"report_{ds}.md"
        report.write_text("\n".join(lines))
        print(f"Wrote {report}")
        return str(report)

    write_report(summary_dir, fetched["event_count"])


def http_get(url: str, timeout: float) -> bytes:
    """The body of ``GET url``; raises on an HTTP error status (4xx, 5xx) or a network error."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # free the connection now; the error still says what went wrong
        raise


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    """The rows of a two-column tab-separated file, as (key, value) pairs."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            key, value = line.split("\t")
            rows.append((key, value))
    return rows


user_activity_report_dag = user_activity_report()
