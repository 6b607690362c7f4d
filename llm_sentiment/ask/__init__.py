"""4. Asking: question templates (prompt versions), answer models and their schemas, ask-and-re-ask."""

from .answers import Label, UserQuestion, load_questions
from .asking import Answered, Provenance, ask
from .calibration import Calibration, Thresholds
from .prompts import PromptSet

__all__ = [
    "Answered",
    "Calibration",
    "Label",
    "PromptSet",
    "Provenance",
    "Thresholds",
    "UserQuestion",
    "ask",
    "load_questions",
]
