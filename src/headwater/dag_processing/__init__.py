"""DAG-folder processing: turning imported DAGs into JSON the scheduler can work from.

The processor imports DAG files (in a subprocess) and stores each DAG with
:func:`headwater.dag_processing.serialized_dag.serialize_dag`; the scheduler rebuilds the
DAG's structure with ``deserialize_dag`` and drives the engine with it, never importing
user code. Workers import the real DAG file to run a task.
"""
