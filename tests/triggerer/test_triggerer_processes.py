"""``headwater triggerer`` as real processes: a thousand waiting triggers cost it under
100 MB; a triggerer killed with SIGKILL loses none of its triggers (another takes them over
once its leases run out) and none fires twice; two triggerers at once never fire one
trigger twice; SIGTERM stops one cleanly, releasing its claims.

The triggers are :mod:`flag_triggers` (copied into the DAG folder, which the triggerer puts
on ``sys.path``): each fires when its flag file appears. Whether a trigger fired is read
from the database; how many times, from the triggerers' logs ("Trigger N ... fired" is
logged once the compare-and-set that fires it committed). Every wait has a deadline, and
every process is killed when the test ends.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from deferred_tasks import defer
from flag_triggers import FlagTrigger, raise_flag

from command_processes import clean_env, kill_session
from command_processes import wait_for as wait_for_condition
from headwater.store.sql import SqlStore
from headwater.store.triggers import FIRED, WAITING, TriggerRow

pytestmark = pytest.mark.slow

FIRED_LINE = re.compile(r"Trigger (\d+) \(flag_triggers\.FlagTrigger\) of \S+ in \S+ fired$")


class Triggerers:
    """``headwater triggerer`` processes over one database, each in its own session."""

    def __init__(self, tmp_path: Path, db_url: str, **settings: str) -> None:
        folder = tmp_path / "dags"
        folder.mkdir()
        shutil.copy(Path(__file__).with_name("flag_triggers.py"), folder)
        self.tmp_path = tmp_path
        self.env = clean_env(tmp_path / "home")
        self.env.update(
            {
                "HEADWATER_DATABASE_URL": db_url,
                "HEADWATER_DAGS_FOLDER": str(folder),
                "HEADWATER__TRIGGERER__POLL_INTERVAL_S": "0.1",
                "HEADWATER__TRIGGERER__HEARTBEAT_INTERVAL_S": "0.2",
            }
        )
        self.env.update({f"HEADWATER__TRIGGERER__{k.upper()}": v for k, v in settings.items()})
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        output = self.tmp_path / f"triggerer-{len(self.started)}.log"
        with open(output, "wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "headwater", "triggerer", *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def output(self, index: int) -> str:
        return (self.tmp_path / f"triggerer-{index}.log").read_text(errors="replace")

    def fired_ids(self) -> Counter[int]:
        """How many times each trigger was logged fired, over every triggerer."""
        return Counter(
            int(match.group(1))
            for index in range(len(self.started))
            for line in self.output(index).splitlines()
            if (match := FIRED_LINE.search(line))
        )

    def wait_for(self, condition: Callable[[], object], what: str) -> None:
        """Wait (120 s at most: the machine may be busy); on failure, say what each
        triggerer logged."""
        try:
            wait_for_condition(condition, what, timeout_s=120)
        except AssertionError as exc:
            logs = "\n".join(self.output(i)[-3000:] for i in range(len(self.started)))
            raise AssertionError(f"{exc}; the triggerers logged:\n{logs}") from None

    def kill_all(self) -> None:
        for process in self.started:
            kill_session(process.pid)
            process.wait()


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "db" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def made() -> Iterator[list[Triggerers]]:
    trees: list[Triggerers] = []
    yield trees
    for tree in trees:
        tree.kill_all()


def flags(tmp_path: Path, count: int, poll_s: float = 0.05) -> list[FlagTrigger]:
    (tmp_path / "flags").mkdir()
    return [FlagTrigger(str(tmp_path / "flags" / f"f{i}"), poll_s) for i in range(count)]


def raise_flags(triggers: list[TriggerRow]) -> None:
    for trigger in triggers:
        raise_flag(trigger.kwargs["path"])


def held_by(store: SqlStore) -> Counter[str | None]:
    return Counter(t.triggerer_id for t in store.list_triggers([WAITING]))


def memory_kb(pid: int) -> dict[str, int]:
    """The process's ``Rss`` and ``Pss`` (kB), from ``/proc/PID/smaps_rollup``."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values


def test_a_thousand_waiting_triggers_cost_the_triggerer_under_100_mb(
    tmp_path: Path, sqlite_url: str, made: list[Triggerers]
) -> None:
    store = SqlStore.from_url(sqlite_url)
    tree = Triggerers(tmp_path, sqlite_url)
    made.append(tree)
    process = tree.start()
    tree.wait_for(lambda: store.list_jobs(kind="triggerer"), "the triggerer to start")
    idle = memory_kb(process.pid)
    triggers = defer(store, flags(tmp_path, 1000, poll_s=2.0))
    tree.wait_for(lambda: held_by(store)[None] == 0, "the triggerer to claim all 1000")
    # The last one claimed fires: every trigger before it runs on the loop too.
    raise_flags(triggers[-1:])
    tree.wait_for(lambda: store.get_trigger(triggers[-1].id).state == FIRED, "the last to fire")  # type: ignore[union-attr]
    memory = memory_kb(process.pid)
    print(f"triggerer memory (kB): idle {idle}, with 1000 triggers {memory}")
    assert memory["Rss"] < 100 * 1024, memory
    assert memory["Pss"] < 100 * 1024, memory
    assert store.count_waiting_triggers() == 999
    # SIGTERM: a clean stop, every claim released for another triggerer.
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, tree.output(0)
    assert held_by(store) == Counter({None: 999})
    assert "released 999 trigger(s)" in tree.output(0)
    store.close()


def test_a_killed_triggerers_triggers_are_taken_over_none_lost_none_fired_twice(
    tmp_path: Path, sqlite_url: str, made: list[Triggerers]
) -> None:
    store = SqlStore.from_url(sqlite_url)
    triggers = defer(store, flags(tmp_path, 60))
    tree = Triggerers(tmp_path, sqlite_url, lease_s="2")
    made.append(tree)
    first = tree.start()
    tree.wait_for(lambda: held_by(store)[None] == 0, "the first triggerer to claim them all")
    raise_flags(triggers[:20])
    tree.wait_for(lambda: store.count_waiting_triggers() == 40, "the first twenty to fire")
    first.kill()  # SIGKILL: its claims stay until their leases run out
    first.wait()
    assert sum(held_by(store).values()) == 40 and held_by(store)[None] == 0
    raise_flags(triggers[20:40])  # while no triggerer runs them
    tree.start()
    tree.wait_for(lambda: store.count_waiting_triggers() == 20, "the second triggerer to fire 20")
    raise_flags(triggers[40:])
    tree.wait_for(lambda: store.count_waiting_triggers() == 0, "the last twenty to fire")
    fired = {t.id: t for t in store.list_triggers()}
    assert {fired[t.id].state for t in triggers} == {FIRED}
    assert all(fired[t.id].payload == {"path": t.kwargs["path"], "text": "up"} for t in triggers)
    # None fired twice. The killed triggerer may not have written the lines of its last
    # firings (SIGKILL right after their commit): those come from the database above; the
    # twenty the second one took over and the last twenty are all in its own log.
    logged = tree.fired_ids()
    assert set(logged.values()) == {1}
    assert {t.id for t in triggers[20:]} <= set(logged) <= {t.id for t in triggers}
    store.close()


def test_two_triggerers_at_once_never_fire_one_trigger_twice(
    tmp_path: Path, request: pytest.FixtureRequest, made: list[Triggerers]
) -> None:
    from database_fixtures import _prepare

    db_url = _prepare("postgresql", request, tmp_path)  # real concurrency: SKIP LOCKED
    store = SqlStore.from_url(db_url)
    triggers = defer(store, flags(tmp_path, 200))
    # Capacities that make them share the triggers; short leases.
    tree = Triggerers(tmp_path, db_url, lease_s="1", capacity="120")
    made.append(tree)
    tree.start()
    tree.start()
    tree.wait_for(lambda: held_by(store)[None] == 0, "the two triggerers to claim all 200")
    assert len(held_by(store)) == 2  # both hold some
    raise_flags(triggers)
    tree.wait_for(lambda: store.count_waiting_triggers() == 0, "all 200 to fire")
    assert {t.state for t in store.list_triggers()} == {FIRED}
    assert tree.fired_ids() == Counter({t.id: 1 for t in triggers})
    store.close()
