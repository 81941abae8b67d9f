"""Airflow plugins of the suite's Airflow-style DAG files (Airflow's plugins folder)."""
