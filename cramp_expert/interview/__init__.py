"""The interview: one question engine (`Interview`), independent of any terminal.

`Interview.current()` gives the prompt to answer now as data (`Prompt`: a question, a checklist
of yes/no findings, a line of labs or fields, with its items and progress); `submit(text)` or
`submit_items({key: text})` answers it; `back()`, `skip()` and `why()` work at any time;
`result()` is the consultation's result. `converse()` drives it through text (a terminal, a
pipe, a test's script); a web form drives it through the same calls.
"""

from cramp_expert.interview.conversation import COMMANDS_HELP, InterviewIO, converse, explain_after
from cramp_expert.interview.questions import AnswerError, Question, questions
from cramp_expert.interview.session import Answer, Interview, Prompt

__all__ = [
    "COMMANDS_HELP",
    "Answer",
    "AnswerError",
    "Interview",
    "InterviewIO",
    "Prompt",
    "Question",
    "converse",
    "explain_after",
    "questions",
]
