"""``python -m headwater.runtime.dag_callback_main FILE DAG_ID RUN_ID``: run the DAG-level
callback (``on_success_callback`` / ``on_failure_callback``) of a run that ended.

The scheduler only has the DAG's structure, so it starts this process to import the DAG
file and call the real callback, away from its own loop. Its log goes to
``<logs>/dag_id=<id>/run_id=<id>/dag_callbacks.log``, copied to ``[logging]
remote_log_folder`` (when set) once the callbacks end.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from headwater.loading.dagbag import DagBag
    from headwater.private_files import create_private_file, make_private_folders
    from headwater.runtime.callback_logs import log_callbacks_to
    from headwater.runtime.callbacks import run_dag_callbacks
    from headwater.runtime.logs import run_log_folder
    from headwater.runtime.remote_logs import copy_finished_log, use_remote_log_folder
    from headwater.settings import load_settings
    from headwater.store.sql import SqlStore

    fileloc, dag_id, run_id = argv
    settings = load_settings()
    folder = Path(run_log_folder(str(settings.logs_folder), dag_id, run_id))
    make_private_folders(folder)
    create_private_file(folder / "dag_callbacks.log")  # logging appends, keeping the mode
    log_callbacks_to(folder / "dag_callbacks.log")
    log = logging.getLogger("headwater.dag_callbacks")
    store = SqlStore.from_url(settings.database_url)
    try:
        run = store.get_dag_run(dag_id, run_id)
        bag = DagBag(
            Path(fileloc),
            import_timeout_s=settings.scheduler.file_parse_timeout_s,
            airflow_compat=settings.core.airflow_compat,
        )
        if run is None or dag_id not in bag.dags:
            log.error(
                "Cannot run the callbacks of run %s of %s: run or DAG not found", run_id, dag_id
            )
            return 1
        log.info("Running the %s callback of run %s", run.state.value, run_id)
        run_dag_callbacks(bag.dags[dag_id], run, store)
        return 0
    finally:
        store.close()
        for handler in logging.getLogger().handlers:
            handler.flush()  # the file is complete: its second copy, when one is set
        use_remote_log_folder(settings)
        copy_finished_log(folder / "dag_callbacks.log")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
