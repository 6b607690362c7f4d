"""6. The analysis: a transcript with roles in, the native ``Analysis`` out. Pure: no I/O but the LLM port."""

from .analyzer import ANALYSIS_PARTS, AnalysisPart, Analyzer
from .questions import QUESTION_IDS, Question, question_messages
from .result import Analysis, Quote, SegmentSentiment, Sentiment

__all__ = [
    "ANALYSIS_PARTS",
    "QUESTION_IDS",
    "Analysis",
    "AnalysisPart",
    "Analyzer",
    "Question",
    "Quote",
    "SegmentSentiment",
    "Sentiment",
    "question_messages",
]
