"""Deprecated: :mod:`skelcon.testing.owndata` is an alias of :mod:`skelcon.examples`.

The fuzz harness that lived here is test code and now lives in the repository's
``tests/fuzz`` package (not installed)."""
