"""An Airflow 2 SubDagOperator: refused with a pointer to TaskGroups."""

import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.subdag import SubDagOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG("names_subdag", start_date=START, schedule="@once") as dag:
    inner = DAG("names_subdag.section", start_date=START, schedule=None)
    EmptyOperator(task_id="start") >> SubDagOperator(task_id="section", subdag=inner)
