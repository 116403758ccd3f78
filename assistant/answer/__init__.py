"""Answers: engines that write them, grounding that ties each sentence to a verbatim
quote, and the checker that proves every quote is a real span of its article."""

from assistant.answer.types import Answer, AnswerSentence, Citation
from assistant.answer.extractive import ExtractiveEngine

__all__ = ["Answer", "AnswerSentence", "Citation", "ExtractiveEngine"]
