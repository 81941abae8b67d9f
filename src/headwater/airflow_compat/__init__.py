"""Airflow's names that headwater answers only for Airflow DAG files.

The objects here stand behind ``airflow.*`` imports under ``[core] airflow_compat`` (see
:mod:`headwater.loading.airflow_names`): Airflow 2 names that Airflow 3 removed
(:mod:`~headwater.airflow_compat.legacy`), ``Variable`` and ``Connection`` as Airflow code
calls them (:mod:`~headwater.airflow_compat.models`), ``airflow.configuration.conf``
(:mod:`~headwater.airflow_compat.configuration`), small helpers of ``airflow.utils``
(:mod:`~headwater.airflow_compat.helpers`) and Airflow's ``DAG`` with its naive dates and
removed arguments (:mod:`~headwater.airflow_compat.dag`). headwater's own DAG files never need them.
"""
