"""Helpers for tests of fireform and of code built on it: small synthetic drivers, the mechanism
contract, and contract suites every Proposer and Executor implementation is run against."""

from fireform.testing.worlds import tiny_drivers

__all__ = ["tiny_drivers"]
