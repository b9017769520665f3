"""Test and benchmark support shipped with skelcon (no test-only dependencies)."""
