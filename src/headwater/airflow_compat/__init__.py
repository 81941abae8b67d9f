"""What Airflow DAG files use that headwater provides only for them ([core] airflow_compat)."""
