"""A tiny mock HTTP API for the example pipelines (standard library only).

It serves two endpoints with deterministic data, so runs are reproducible:

* ``GET /activity?date=YYYY-MM-DD``: a JSON object ``{"date": ..., "events": [...]}`` with the
  user activity events of that day (the same date always gives the same events).
* ``GET /news.rss``: an RSS 2.0 feed of tech and business headlines.

Run it in a terminal, then point the example pipelines at it (their default ``api_url``)::

    python examples/_mock_api.py --port 8765

Tests start it in a background thread on a free port instead::

    server, url = start_server()   # url == "http://127.0.0.1:<port>"
    ...
    server.shutdown()

The file name starts with ``_`` so the pipeline scanner does not try to import it.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

EVENT_TYPES = ("page_view", "page_view", "page_view", "search", "add_to_cart", "purchase", "login")
USERS = [f"user_{n:03d}" for n in range(1, 26)]


def generate_activity(day: str) -> list[dict[str, str]]:
    """The activity events of ``day`` (``YYYY-MM-DD``): between 40 and 80, in time order.

    The random generator is seeded with the date, so a date always gives the same events.
    """
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    rng = random.Random(f"activity-{day}")
    count = rng.randint(40, 80)
    offsets = sorted(rng.randrange(24 * 3600) for _ in range(count))
    return [
        {
            "event_id": f"{day.replace('-', '')}-{index:04d}",
            "user_id": rng.choice(USERS),
            "event_type": rng.choice(EVENT_TYPES),
            "timestamp": (start + timedelta(seconds=offset)).isoformat(),
        }
        for index, offset in enumerate(offsets, start=1)
    ]


# (title, description, category, published as ISO date-time); the feed lists them newest first.
HEADLINES = [
    (
        "Open-source workflow engines gain ground in data teams",
        "A survey of 500 data teams finds most now orchestrate pipelines as Python code.",
        "data",
        "2024-01-31T16:20:00+00:00",
    ),
    (
        "Central bank holds rates steady, signals cuts later in the year",
        "Markets rallied after the announcement; bond yields fell sharply.",
        "markets",
        "2024-01-31T14:05:00+00:00",
    ),
    (
        "New Python release speeds up startup by 20 percent",
        "The release also improves error messages and the asyncio module.",
        "python",
        "2024-01-31T11:45:00+00:00",
    ),
    (
        "Retailer reports record online sales during winter season",
        "Mobile orders made up more than half of all purchases.",
        "business",
        "2024-01-31T09:30:00+00:00",
    ),
    (
        "SQLite adds faster JSON functions in latest version",
        "The embedded database is used by billions of devices and many data pipelines.",
        "data",
        "2024-01-31T08:10:00+00:00",
    ),
    (
        "Local football club wins regional cup after penalty shootout",
        "Fans celebrated in the city centre late into the night.",
        "sports",
        "2024-01-30T21:40:00+00:00",
    ),
    (
        "Cloud costs push companies to rethink data warehouse strategy",
        "Engineers turn to batch pipelines and open formats to cut their bills.",
        "data",
        "2024-01-30T17:00:00+00:00",
    ),
    (
        "Python packaging tools converge on a single lock file format",
        "Maintainers of several tools agreed on a shared specification.",
        "python",
        "2024-01-30T13:25:00+00:00",
    ),
    (
        "Weather service warns of heavy snow in the north this weekend",
        "Travellers are advised to check train schedules before leaving.",
        "weather",
        "2024-01-30T10:00:00+00:00",
    ),
    (
        "Startup raises funding to build AI assistant for data pipelines",
        "The tool writes and reviews pipeline code for data engineers.",
        "business",
        "2024-01-29T15:50:00+00:00",
    ),
]


def build_rss() -> bytes:
    """The RSS 2.0 document served at ``/news.rss``."""
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = "Mock Daily News"
    ET.SubElement(channel, "link").text = "http://example.com/"
    ET.SubElement(channel, "description").text = "Headlines for the headwater example pipelines"
    for number, (title, description, category, published) in enumerate(HEADLINES, start=1):
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = title
        ET.SubElement(item, "link").text = f"http://example.com/news/{number}"
        ET.SubElement(item, "description").text = description
        ET.SubElement(item, "category").text = category
        ET.SubElement(item, "pubDate").text = format_datetime(datetime.fromisoformat(published))
        ET.SubElement(item, "guid").text = f"mock-news-{number}"
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


class MockApiHandler(BaseHTTPRequestHandler):
    """Answers GET requests for ``/activity`` and ``/news.rss``."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/activity":
            day = parse_qs(url.query).get("date", [""])[0]
            try:
                date.fromisoformat(day)
            except ValueError:
                self._send(400, "application/json", {"error": f"bad or missing date: {day!r}"})
                return
            self._send(200, "application/json", {"date": day, "events": generate_activity(day)})
        elif url.path == "/news.rss":
            self._send(200, "application/rss+xml; charset=utf-8", build_rss())
        else:
            self._send(404, "application/json", {"error": f"no such endpoint: {url.path}"})

    def _send(self, status: int, content_type: str, body: object) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def start_server(port: int = 0, *, quiet: bool = True) -> tuple[ThreadingHTTPServer, str]:
    """Serve the mock API on 127.0.0.1 in a background thread; returns the server and its URL.

    ``port=0`` picks a free port. Call ``server.shutdown()`` and ``server.server_close()``
    to stop it.
    """
    server = ThreadingHTTPServer(("127.0.0.1", port), MockApiHandler)
    server.quiet = quiet  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name="mock-api", daemon=True).start()
    host, bound_port = server.server_address[:2]
    return server, f"http://{host}:{bound_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Mock HTTP API for the example pipelines.")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), MockApiHandler)
    print(f"Mock API on http://127.0.0.1:{args.port}  (Ctrl-C to stop)")
    print(f"  try: curl 'http://127.0.0.1:{args.port}/activity?date=2024-01-31'")
    print(f"       curl 'http://127.0.0.1:{args.port}/news.rss'")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
