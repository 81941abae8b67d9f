"""Daily news digest: fetch an RSS feed, keep the headlines that match keywords, write a CSV.

The pipeline, one run per day::

    fetch_feed  ->  rank_headlines  ->  has_headlines  ->  write_digest
    (HTTP GET,      (parse the XML,     (short circuit:    (csv module:
     raw XML)        score, sort)        skip if none)      <output_dir>/news/digest_<ds>.csv)

It shows:

* TaskFlow tasks passing values to each other (the feed text, then a list of dicts);
* templated task arguments: string arguments of a ``@task`` call such as
  ``"{{ params.api_url }}/news.rss"`` are rendered with Jinja before the function runs;
* ``@task.short_circuit``: when nothing matches, the rest of the run is skipped (not failed);
* params validated with JSON schema (an array of keywords, a bounded integer).

Try it (start the mock API first, in another terminal)::

    python examples/_mock_api.py --port 8765
    headwater dags test news_digest --folder examples --logical-date 2024-01-31 \\
        --conf '{"keywords": ["python", "data"], "max_items": 3}'
"""

from __future__ import annotations

import csv
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from headwater import Param, dag, task

DEFAULT_OUTPUT_DIR = str(Path(__file__).resolve().parent / "output")
DIGEST_COLUMNS = ["rank", "score", "title", "published", "category", "matched", "link"]


@dag(
    dag_id="news_digest",
    schedule="0 7 * * *",  # every morning at 07:00 UTC
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    # It needs the mock API (examples/_mock_api.py): the scheduler leaves it paused until
    # you start the API and run `headwater dags unpause` (dags test runs it regardless).
    is_paused_upon_creation=True,
    tags=["example", "http", "xml", "csv"],
    params={
        "api_url": Param(
            "http://127.0.0.1:8765",
            type="string",
            pattern="^https?://",
            description="Base URL of the news API; the feed is at <api_url>/news.rss.",
        ),
        "keywords": Param(
            ["python", "data", "sqlite", "pipeline"],
            type="array",
            items={"type": "string", "minLength": 1},
            description="Headlines must mention at least one (case-insensitive); [] keeps all.",
        ),
        "max_items": Param(5, type="integer", minimum=1, maximum=100),
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string", minLength=1),
    },
)
def news_digest() -> None:
    """Build a CSV digest of today's headlines that match the run's keywords."""

    @task(retries=2, retry_delay=timedelta(seconds=10))
    def fetch_feed(url: str) -> str:
        """Download the feed and return its XML text."""
        print(f"Fetching {url}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            exc.close()  # free the connection now; the error still says what went wrong
            raise

    @task
    def rank_headlines(feed_xml: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Parse the RSS items; score each by keyword hits; best first, then newest first."""
        keywords = [k.lower() for k in params["keywords"]]
        headlines = []
        for item in ET.fromstring(feed_xml).iter("item"):
            title = item.findtext("title", "").strip()
            text = f"{title} {item.findtext('description', '')}".lower()
            matched = [k for k in keywords if k in text]
            if keywords and not matched:
                continue
            # A keyword in the title counts double: it says what the story is about.
            score = sum(2 if k in title.lower() else 1 for k in matched)
            published = parsedate_to_datetime(item.findtext("pubDate", ""))
            headlines.append(
                {
                    "score": score,
                    "title": title,
                    "published": published.astimezone(UTC).isoformat(),
                    "category": item.findtext("category", ""),
                    "matched": " ".join(matched),
                    "link": item.findtext("link", ""),
                }
            )
        # Highest score first; newest first among equal scores (ISO UTC strings sort by time).
        headlines.sort(key=lambda h: (h["score"], h["published"]), reverse=True)
        top = headlines[: params["max_items"]]
        for rank, headline in enumerate(top, start=1):
            headline["rank"] = rank
            print(f"{rank}. [{headline['score']}] {headline['title']}")
        return top

    @task.short_circuit
    def has_headlines(headlines: list[dict[str, Any]]) -> bool:
        """False when nothing matched: then write_digest is skipped and the run still succeeds."""
        print(f"{len(headlines)} headline(s) selected")
        return bool(headlines)

    @task
    def write_digest(headlines: list[dict[str, Any]], path: str) -> dict[str, Any]:
        """Write the headlines as CSV to ``path`` (rendered from a template, see below)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=DIGEST_COLUMNS)
            writer.writeheader()
            writer.writerows(headlines)
        print(f"Wrote {len(headlines)} headline(s) to {target}")
        return {"path": str(target), "rows": len(headlines)}

    feed = fetch_feed("{{ params.api_url.rstrip('/') }}/news.rss")
    headlines = rank_headlines(feed)
    digest = write_digest(headlines, path="{{ params.output_dir }}/news/digest_{{ ds }}.csv")
    has_headlines(headlines) >> digest


news_digest_dag = news_digest()
