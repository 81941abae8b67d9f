"""Services: what people ask of headwater's metadata database, as typed queries and commands.

One module per resource (:mod:`~.dags`, :mod:`~.runs`, :mod:`~.task_instances`,
:mod:`~.pools`, :mod:`~.variables`, :mod:`~.connections`, :mod:`~.import_errors`,
:mod:`~.backfills`, :mod:`~.logs`, :mod:`~.database`, :mod:`~.config`, :mod:`~.monitor`,
and the accounts: :mod:`~.users` (users, roles), :mod:`~.tokens`, :mod:`~.sessions`
(login)). Each holds its
request and response schemas (pydantic models, :mod:`~._schema`) and plain functions that
take a :class:`~.context.ServiceContext` (the settings and an opened store, from
:func:`~.context.open_context`) and return schema objects, never store records. The writes
go through :mod:`headwater.operations`; errors are those of :mod:`~.errors`.

The CLI calls these and prints ``model_dump(mode="json")`` for ``--output json``; the REST
API will return the same objects, so both answer alike. Import the modules you use: this
package imports nothing, so a command that needs one service loads only that one.
"""
