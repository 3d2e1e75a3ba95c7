"""Who may do what: roles per route (roles.py), limits and usage per API key (limits.py), and the
record of every change (audit.py)."""

from .audit import AuditLog
from .limits import Accounting
from .roles import ROLES, at_least, required_role

__all__ = ["ROLES", "Accounting", "AuditLog", "at_least", "required_role"]
