"""1. The transcript: the typed model every input becomes, the text inputs, and the lines a call is read in."""

from .formats import INPUT_FORMATS, InputFormat, load_transcript, parse_transcript
from .model import Role, RoleMapping, Segment, Transcript, Warning, Word
from .units import Unit, sentiment_units

__all__ = [
    "INPUT_FORMATS",
    "InputFormat",
    "Role",
    "RoleMapping",
    "Segment",
    "Transcript",
    "Unit",
    "Warning",
    "Word",
    "load_transcript",
    "parse_transcript",
    "sentiment_units",
]
