"""Exceptions raised by ahasd.

Every error from the C core carries its message, which names the field, the
value and what is allowed.  ``ConfigError`` is what bad input raises; it is a
``ValueError`` so generic code that catches ``ValueError`` keeps working.
"""
from __future__ import annotations


class AhasdError(Exception):
    """Base class of every error ahasd raises on purpose."""


class ConfigError(AhasdError, ValueError):
    """Bad input: a value out of range, an unknown name, a malformed file."""


class ScheduleError(ConfigError):
    """A schedule that cannot run on the given configuration."""


class NumericalError(AhasdError, ArithmeticError):
    """A numerical method failed (no convergence, non-finite result)."""
