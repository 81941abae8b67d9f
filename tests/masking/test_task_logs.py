"""A real in-process run (``headwater.testing.run_dag``): what a task prints, logs, raises
and renders reaches the attempt's log file, its stored error and its rendered fields with
the registered secrets as ``***``."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from headwater import DAG, mask_secret, task
from headwater.hooks.base import BaseHook
from headwater.operators import BashOperator, PythonOperator
from headwater.secrets import Connection
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
SECRET = "tr0ub4dor-and-3"
CONN_PASSWORD = "p@ss/w0rd-of-db"


def test_what_a_task_prints_logs_and_raises_is_masked_in_its_log_and_error() -> None:
    with DAG("leaky", start_date=START, schedule=None) as dag:

        @task(retries=0)
        def leak(secret: str) -> None:
            print(f"before registering: {secret}")
            mask_secret(secret)
            print(f"printed: {secret}")
            print(secret[:5], end="", flush=True)  # one line in two flushed pieces
            print(secret[5:], "(split)")
            sys.stderr.write(f"stderr: {secret}\n")
            logging.getLogger("user.code").warning("user logger: %s", secret)
            thread = threading.Thread(target=print, args=(f"from a thread: {secret}",))
            thread.start()
            thread.join()
            raise ValueError(f"cannot connect with {secret}")

        leak(SECRET)

    result = run_dag(dag)

    assert result.state_of("leak") == "failed"
    log = result.log("leak")
    # Registering is not retroactive: the line written before it shows the value.
    assert f"before registering: {SECRET}" in log
    after = log[log.index("printed:") :]
    assert SECRET not in after
    for expected in (
        "printed: ***",
        "*** (split)",
        "stderr: ***",
        "user logger: ***",
        "from a thread: ***",
        "Task failed: ValueError: cannot connect with ***",
        "ValueError: cannot connect with ***",  # the traceback's last line
    ):
        assert expected in after, expected
    assert "Traceback (most recent call last)" in after
    assert result.ti("leak").error == "ValueError: cannot connect with ***"
    assert result.attempts("leak")[-1].error == "ValueError: cannot connect with ***"


def test_rendered_fields_hide_sensitive_fields_and_registered_secrets() -> None:
    def work(dsn: str, templates_dict: dict[str, Any]) -> str:
        mask_secret(SECRET)  # registered while running: the fields are stored after
        return "done"

    with DAG("rendering", start_date=START, schedule=None, params={"pw": SECRET}) as dag:
        PythonOperator(
            task_id="work",
            python_callable=work,
            op_kwargs={"dsn": "db://etl:{{ params.pw }}@db/x"},
            templates_dict={"api_token": "{{ params.pw | upper }}", "region": "eu"},
        )

    result = run_dag(dag)

    assert result.state_of("work") == "success"
    rendered = result.rendered("work")
    assert rendered["op_kwargs"] == {"dsn": "db://etl:***@db/x"}
    # Under a sensitive key: hidden though the upper-cased value was never registered.
    assert rendered["templates_dict"] == {"api_token": "***", "region": "eu"}
    assert SECRET not in str(rendered) and SECRET.upper() not in str(rendered)


def test_a_connection_password_read_by_a_hook_is_masked_in_later_tasks() -> None:
    """Both tasks run in this process, so the password the first task's hook registered
    hides the second task's rendered command and what the command prints."""
    store = MemoryStore()
    store.set_connection(
        Connection("warehouse", "postgres", host="db", login="etl", password=CONN_PASSWORD)
    )
    with DAG("hooked", start_date=START, schedule=None) as dag:

        @task
        def connect() -> str:
            connection = BaseHook.get_connection("warehouse")
            print(f"uri: {connection.get_uri()}")
            return connection.host or ""

        echo = BashOperator(
            task_id="echo", bash_command="echo 'password is {{ conn.warehouse.password }}'"
        )
        connect() >> echo

    result = run_dag(dag, store=store)

    assert result.task_states == {"connect": "success", "echo": "success"}
    assert "uri: postgres://etl:***@db" in result.log("connect")
    assert "password is ***" in result.log("echo")
    assert result.rendered("echo")["bash_command"] == "echo 'password is ***'"
    assert CONN_PASSWORD not in result.log("connect") + result.log("echo")


class _Collect(logging.Handler):
    """A handler of the process's own (a console, say), keeping what it would write."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_process_own_log_handlers_see_a_task_logger_masked_too() -> None:
    with DAG("console", start_date=START, schedule=None) as dag:

        @task
        def log_it() -> None:
            mask_secret(SECRET)
            logger = logging.getLogger("user.console")
            logger.info("token=%s", SECRET)
            try:
                raise RuntimeError(f"bad {SECRET}")
            except RuntimeError:
                logger.exception("caught")

        log_it()

    console = _Collect()
    root = logging.getLogger()
    root.addHandler(console)
    try:
        result = run_dag(dag)
    finally:
        root.removeHandler(console)

    assert result.state_of("log_it") == "success"
    shown = "\n".join(line for line in console.lines if line.startswith("user.console"))
    assert "user.console token=***" in shown
    assert "RuntimeError: bad ***" in shown
    assert SECRET not in shown
    assert "RuntimeError: bad ***" in result.log("log_it")
    assert console.filters == []  # the filter is gone once the attempt ends
