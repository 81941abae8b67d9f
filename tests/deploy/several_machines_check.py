"""The several-machine deployment of docs/deploy.md, tried on one machine, by hand (not part
of the test suite: it takes about two minutes on two CPUs and needs PostgreSQL, Redis or
RabbitMQ, and `headwater celery` and `headwater jobs`).

    .venv/bin/python tests/deploy/several_machines_check.py            # Redis (a private one)
    .venv/bin/python tests/deploy/several_machines_check.py --broker amqp   # RabbitMQ :5672

It runs the ExecStart lines of deploy/systemd (with deploy/systemd/headwater.env.example,
its hosts replaced by this machine's services, each process with a home and logs folder of
its own, as on separate machines): `db migrate`, the first admin user, two schedulers, the
DAG processor, the triggerer, the API server and two Celery workers. Then: every part
healthy at /api/v1/health, `jobs check` finds both schedulers, `celery status` both workers;
a run of 12 three-second tasks during which one scheduler and one worker are killed with
SIGKILL ends in success, every task's work done once to its end (a ledger), and its logs
are read from a process whose logs folder lacks them (the remote log folder); each process
left exits 0 on SIGTERM. Exit status 0 when all of that holds."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
HEADWATER = str(Path(sys.executable).parent / "headwater")
TASKS = 12

DAG_FILE = '''"""A headwater dag: TASKS tasks of 3 s, each writing its start and end to a ledger."""
import os
import time
from datetime import timedelta

from headwater import dag, task


@dag(schedule=None, default_args={"retries": 2, "retry_delay": timedelta(seconds=1)})
def slow_fanout():
    @task
    def work(i: int) -> int:
        with open(os.environ["LEDGER"], "a") as ledger:
            ledger.write(f"start {i}\\n")
        time.sleep(3)
        with open(os.environ["LEDGER"], "a") as ledger:
            ledger.write(f"end {i}\\n")
        return i

    @task
    def join(values: list[int]) -> int:
        return sum(values)

    join(work.expand(i=list(range(TASKS))))


slow_fanout()
'''.replace("TASKS", str(TASKS))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition: Callable[[], Any], what: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.5)
    raise SystemExit(f"FAILED: timed out waiting for {what}")


class Deployment:
    def __init__(self, base: Path, settings: dict[str, str], instance_env: dict[str, str]):
        self.base = base
        self.settings = settings
        self.instance_env = instance_env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", flush=True)

    def environment(self, machine: str) -> dict[str, str]:
        home = self.base / machine
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
        return {
            **env,
            **self.settings,
            "HEADWATER_HOME": str(home),
            "HEADWATER__LOGGING__LOGS_FOLDER": str(home / "logs"),
        }

    def unit_command(self, unit: str, instance: str = "") -> list[str]:
        text = (UNITS / f"headwater-{unit}.service").read_text()
        line = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)  # type: ignore[union-attr]
        variables: dict[str, str] = {}
        for assignments in re.findall(r"^Environment=(.*)$", text, re.M):
            variables.update(word.split("=", 1) for word in shlex.split(assignments))
        variables.update(self.instance_env)  # what /etc/headwater/worker-%i.env would set
        line = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], line)
        line = line.replace("%i", instance).replace("%H", socket.gethostname())
        return shlex.split(line)[1:]

    def start(self, machine: str, unit: str, instance: str = "") -> None:
        args = self.unit_command(unit, instance)
        with (self.base / f"{machine}.log").open("wb") as log:
            self.processes[machine] = subprocess.Popen(
                [HEADWATER, *args],
                env=self.environment(machine),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.say(f"{machine}: headwater {shlex.join(args)}")

    def run(self, *args: str, machine: str = "cli", stdin: str | None = None) -> str:
        done = subprocess.run(
            [HEADWATER, *args],
            env=self.environment(machine),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"FAILED: headwater {shlex.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def kill(self, machine: str) -> None:
        os.killpg(self.processes[machine].pid, signal.SIGKILL)
        self.processes[machine].wait()
        self.say(f"kill -9 {machine}")

    def stop(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        running = {n: p for n, p in self.processes.items() if p.poll() is None}
        for process in running.values():
            process.send_signal(signal.SIGTERM)
        for name, process in running.items():
            try:
                codes[name] = process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                codes[name] = None
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        return codes


def check(deployment: Deployment, api_port: int, ledger: Path) -> None:
    say = deployment.say
    deployment.run(*deployment.unit_command("db-migrate"), machine="migrate")
    deployment.run(
        "users", "create", "admin", "--role", "admin", "--password-stdin", stdin="a-long-password\n"
    )
    say("migrated; user admin created")
    for machine, unit, instance in [
        ("scheduler-a", "scheduler", ""),
        ("scheduler-b", "scheduler", ""),
        ("dag-processor", "dag-processor", ""),
        ("triggerer", "triggerer", ""),
        ("api-server", "api-server", ""),
        ("worker-1", "celery-worker@", "1"),
        ("worker-2", "celery-worker@", "2"),
    ]:
        deployment.start(machine, unit, instance)

    def healthy() -> bool:
        try:
            health = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/health", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return False
        parts = ("scheduler", "dag_processor", "triggerer")
        return health["status"] == "healthy" and all(
            (health[p] or {}).get("status") == "healthy" for p in parts
        )

    _wait(healthy, "every part healthy at /api/v1/health", 180)
    say("/api/v1/health: healthy")
    deployment.run("jobs", "check", "--job-type", "scheduler", "--limit", "0", "--allow-multiple")
    say("jobs check: two live schedulers")

    def workers() -> list[str] | None:
        status = json.loads(
            deployment.run("celery", "status", "--timeout", "5", "--output", "json")
        )
        names = sorted(w["hostname"] for w in status["workers"])
        return names if len(names) == 2 else None

    say(f"celery status: {_wait(workers, 'two workers', 120)}")
    _wait(lambda: "slow_fanout" in deployment.run("dags", "list", "-o", "json"), "the DAG", 120)
    run_id = json.loads(deployment.run("dags", "trigger", "slow_fanout", "-o", "json"))["run_id"]
    say(f"triggered slow_fanout {run_id}")
    _wait(lambda: ledger.exists() and ledger.read_text().count("start") >= 4, "attempts", 120)
    deployment.kill("scheduler-a")
    deployment.kill("worker-1")

    def ended() -> str | None:
        run = json.loads(deployment.run("dags", "state", "slow_fanout", run_id, "-o", "json"))
        return str(run["state"]) if run["state"] in ("success", "failed") else None

    state = _wait(ended, "the run's end", 300)
    run = json.loads(deployment.run("dags", "state", "slow_fanout", run_id, "-o", "json"))
    tries = {f"{t['task_id']}[{t['map_index']}]": t["try_number"] for t in run["task_instances"]}
    say(f"the run: {state}; tries {tries}")
    assert state == "success", run
    lines = ledger.read_text().split()
    ends = [int(i) for kind, i in zip(lines[::2], lines[1::2], strict=True) if kind == "end"]
    assert sorted(ends) == list(range(TASKS)), f"each task's work ends once: {sorted(ends)}"
    say("ledger: each task's work ended once")
    log = deployment.run("tasks", "logs", "slow_fanout", run_id, "join", machine="reader")
    assert "join" in log, log
    say(f"tasks logs from a machine without the file: {len(log.splitlines())} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", choices=["redis", "amqp"], default="redis")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    arguments = parser.parse_args()
    database = f"hw_deploy_check_{secrets.token_hex(4)}"
    admin = httpx.URL(arguments.postgres.replace("+psycopg", ""))
    psql = [
        "psql",
        "-h",
        admin.host,
        "-p",
        str(admin.port or 5432),
        "-U",
        admin.username or "postgres",
    ]
    subprocess.run([*psql, "-qc", f"CREATE DATABASE {database}"], check=True)
    redis = None
    queue = f"check_{secrets.token_hex(3)}"
    if arguments.broker == "redis":
        port = _free_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        broker = {
            "HEADWATER__CELERY__BROKER_URL": f"redis://127.0.0.1:{port}/0",
            "HEADWATER__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:{port}/1",
        }
    else:  # the machine's RabbitMQ, a queue of this check's own
        broker = {
            "HEADWATER__CELERY__BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
            "HEADWATER__CELERY__RESULT_BACKEND": "rpc://",
        }
    with tempfile.TemporaryDirectory(prefix="headwater-deploy-check-") as folder:
        base = Path(folder)
        (base / "dags").mkdir()
        (base / "dags" / "slow_fanout.py").write_text(DAG_FILE)
        api_port = _free_port()
        example = dict(
            line.split("=", 1)
            for line in (UNITS / "headwater.env.example").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        settings = {
            **example,
            **broker,
            "HEADWATER_DATABASE_URL": f"{arguments.postgres}/{database}",
            "HEADWATER__SECRETS__FERNET_KEY": subprocess.run(
                [HEADWATER, "generate-fernet-key"], capture_output=True, text=True, check=True
            ).stdout.strip(),
            "HEADWATER__CORE__DAGS_FOLDER": str(base / "dags"),
            "HEADWATER__CELERY__DEFAULT_QUEUE": queue,
            "HEADWATER__LOGGING__REMOTE_LOG_FOLDER": str(base / "remote-logs"),
            "HEADWATER__LOGGING__FORMAT": "text",
            "HEADWATER__API__HOST": "127.0.0.1",
            "HEADWATER__API__PORT": str(api_port),
            # Sooner than the defaults, for a short check: takeover and lost attempts.
            "HEADWATER__SCHEDULER__RUN_CLAIM_LEASE_S": "10",
            "HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S": "15",
            "LEDGER": str(base / "ledger.txt"),
        }
        deployment = Deployment(base, settings, {"WORKER_QUEUES": queue})
        try:
            check(deployment, api_port, base / "ledger.txt")
        finally:
            codes = deployment.stop()
            deployment.say(f"exit codes after SIGTERM: {codes}")
            if redis is not None:
                redis.terminate()
                redis.wait()
            subprocess.run([*psql, "-qc", f"DROP DATABASE {database} WITH (FORCE)"], check=False)
        assert all(code == 0 for code in codes.values()), codes
    print("OK", flush=True)


if __name__ == "__main__":
    main()
