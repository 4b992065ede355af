"""The interactive consultation: questions from knowledge/, relevance from the rules, WHY."""

from cramp_expert.interview.questions import AnswerError, Question, questions
from cramp_expert.interview.session import Interview, InterviewIO

__all__ = ["AnswerError", "Interview", "InterviewIO", "Question", "questions"]
