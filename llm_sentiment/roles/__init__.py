"""5. Who is the agent and who the customer: given, from labels, from what they say, by channel or by voice."""

from .recording import recording_roles
from .rules import LOW_CONFIDENCE, assign_roles, parse_roles_spec

__all__ = ["LOW_CONFIDENCE", "assign_roles", "parse_roles_spec", "recording_roles"]
