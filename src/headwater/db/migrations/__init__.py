"""The Alembic migration chain of the metadata database (run through :mod:`headwater.db.migrate`).

``env.py`` is Alembic's entry point; ``versions/`` holds one module per schema change, each
written by hand (``NNNN_what.py``, ``revision = "NNNN"``, ``down_revision`` the previous one).
"""
