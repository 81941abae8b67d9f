"""Users, roles and API tokens of the REST API and web UI: who is asking and what they may do.

:mod:`~.principals` decides permissions (:class:`~.principals.Principal`);
:mod:`~.passwords` hashes passwords (Argon2id) and says which may be used; :mod:`~.secrets`
makes API tokens, session ids and CSRF tokens and hashes them (SHA-256) for storage.

Users, roles, tokens and sessions are stored through
:class:`headwater.store.ports.UserStore`; :mod:`headwater.services.users`,
:mod:`~headwater.services.tokens` and :mod:`~headwater.services.sessions` are what the CLI and
the API call.
"""
