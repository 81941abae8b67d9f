"""Users, roles and API tokens of the REST API and web UI: who is asking and what they may do.

:mod:`~.principals` decides permissions (:class:`~.principals.Principal`); the other modules
hash passwords and tokens. Users, roles, tokens and sessions are stored through
:class:`headwater.store.ports.UserStore`; :mod:`headwater.services.users` is what the CLI
and the API call.
"""
