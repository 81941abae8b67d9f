"""services.logs.read_log: chunks at every size give back the log exactly, whatever mix of
one- to four-byte characters a line holds, and completeness waits for the attempt's end."""

from __future__ import annotations

import pytest

from headwater.services.context import open_context
from headwater.services.logs import read_log
from headwater.settings import Settings
from running_attempts import start_attempt

TEXT = "a€b🌊cé\n" + "🌊" * 3 + "xé€" * 4 + "\nend\n"


def _chunks(settings: Settings, max_bytes: int) -> list[tuple[str, int, int, bool]]:
    found = []
    offset = 0
    with open_context(settings) as ctx:
        while True:
            chunk = read_log(ctx, "flaky", "live", "start", -1, 1, offset, max_bytes)
            found.append((chunk.content, chunk.offset, chunk.next_offset, chunk.complete))
            if chunk.complete:
                return found
            assert chunk.next_offset > offset, "a read must move on"
            offset = chunk.next_offset


@pytest.fixture
def settings_with_log(web_settings: Settings) -> Settings:
    live = start_attempt(web_settings, "flaky", "live", "start")
    live.write(TEXT)
    live.end()
    return web_settings


@pytest.mark.parametrize("max_bytes", [4, 5, 6, 7, 9, 13, 64])
def test_every_chunk_size_reads_back_the_same_text(
    settings_with_log: Settings, max_bytes: int
) -> None:
    chunks = _chunks(settings_with_log, max_bytes)
    assert "".join(c[0] for c in chunks) == TEXT
    assert all("\ufffd" not in c[0] for c in chunks)
    assert all(len(c[0].encode()) <= max_bytes for c in chunks)
    assert [c[3] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1][2] == len(TEXT.encode())


def test_the_latest_try_is_read_when_none_is_named(settings_with_log: Settings) -> None:
    with open_context(settings_with_log) as ctx:
        chunk = read_log(ctx, "flaky", "live", "start")
    assert (chunk.try_number, chunk.tries, chunk.content, chunk.complete) == (1, [1], TEXT, True)


def test_an_empty_log_of_a_running_attempt_is_not_complete(web_settings: Settings) -> None:
    live = start_attempt(web_settings, "flaky", "live", "start")
    live.log.unlink()  # the worker has not created it yet
    with open_context(web_settings) as ctx:
        chunk = read_log(ctx, "flaky", "live", "start", -1, 1)
        assert (chunk.content, chunk.next_offset, chunk.complete) == ("", 0, False)
        live.end()
        assert read_log(ctx, "flaky", "live", "start", -1, 1).complete is True
