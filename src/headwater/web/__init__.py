"""The REST API (:mod:`~.api`) and the web UI (:mod:`~.ui`), served by one FastAPI app
(:func:`~.app.create_app`)."""
