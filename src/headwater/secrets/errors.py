"""What can go wrong in a secrets backend, apart from an id that is nowhere
(:class:`~headwater.secrets.ConnectionNotFoundError`)::

    HeadwaterError
     +-- SecretsContentError   a value, file or secret that is not a connection or variable
     +-- SecretsBackendError   a backend that cannot answer, or cannot be built from settings

Neither message ever holds a secret's value or a token: they name where (a variable, a file
and key, a Vault path, a setting) and what is wrong.
"""

from __future__ import annotations

from headwater.exceptions import HeadwaterError


class SecretsContentError(HeadwaterError):
    """What a secrets backend holds is not a connection or a variable headwater can read."""


class SecretsBackendError(HeadwaterError):
    """A secrets backend cannot be built from the settings, or cannot answer a lookup."""
