"""Describing pipelines: DAGs, tasks, groups, mapping, params. No I/O, no database."""
