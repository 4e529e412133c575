"""CLI sub-commands, one module each (discovered by :mod:`recolab.cli`)."""
