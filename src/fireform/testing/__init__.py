"""Helpers for tests: small synthetic drivers and assertion helpers."""

from fireform.testing.worlds import tiny_drivers

__all__ = ["tiny_drivers"]
