"""The interview as a conversation in text: prompts out, typed lines in, commands understood.

`converse` puts the engine's prompts (`interview.session`) through an `InterviewIO` (a terminal,
piped standard input, or a test's script) and understands the commands a clinician may type at
any prompt; `explain_after` answers `how ID` and `why-not ID` once the report is shown. Neither
prints the report itself: the caller renders the result.
"""

from __future__ import annotations

from typing import Protocol

from cramp_expert.interview.questions import AnswerError
from cramp_expert.interview.session import Interview, Prompt
from cramp_expert.render import visible
from cramp_expert.result import Consultation

COMMANDS_HELP = (
    "At any prompt: 'why' (why it is asked; again to go up the chain), 'back' (change the "
    "previous answer), 'skip' (ask later), 'unknown' or an empty answer (not known), 'quit' "
    "(stop asking and conclude from what is known), 'help'. Ctrl-C stops and saves the "
    "answers so far."
)


class InterviewIO(Protocol):
    """Where the interview reads answers and writes what it says."""

    def ask(self, prompt: str) -> str | None:
        """Show `prompt` and return the answer typed, or None at the end of the input."""

    def say(self, text: str) -> None:
        """Show a line (or lines) of text."""


def converse(interview: Interview, io: InterviewIO) -> Consultation:
    """Ask until no answer can change a conclusion (or the user quits); return the result."""
    io.say(
        "cramp-expert interview: answer each prompt, or type 'help'. Only what can still "
        "change a conclusion is asked."
    )
    while (prompt := interview.current()) is not None:
        if not _ask(interview, prompt, io):
            break
    return interview.result()


def _ask(interview: Interview, prompt: Prompt, io: InterviewIO) -> bool:
    """Ask one prompt until it is answered; False when the user quits."""
    level = 0
    interview.asked.append(prompt.id)
    while True:
        typed = io.ask(prompt.render())
        if typed is None:
            io.say("  (end of input: concluding from what is known)")
            return False
        command = typed.strip().lower()
        if command == "quit":
            io.say("  Stopped asking: concluding from what is known.")
            return False
        if command == "why":
            io.say(interview.why(level, prompt))
            level += 1
            continue
        if command in ("help", "?"):
            io.say(f"  {prompt.help()}\n  {COMMANDS_HELP}")
            continue
        if command == "back":
            previous = interview.back()
            if previous is None:
                io.say("  Nothing to go back to.")
                continue
            io.say(
                f"  Back to [{', '.join(previous.keys)}]; the answer was: "
                f"{visible(previous.previous) if previous.previous else '(empty: unknown)'}"
            )
            return True
        if command == "skip":
            io.say(interview.skip())
            return True
        try:
            io.say(interview.submit(typed))
        except AnswerError as exc:
            io.say(f"  Not understood: {exc}. Type 'help' for what to enter.")
            continue
        return True


def explain_after(interview: Interview, result: Consultation, io: InterviewIO) -> None:
    """After the report: answer `how ID` and `why-not ID` until the user is done."""
    from cramp_expert.errors import did_you_mean
    from cramp_expert.explain.text import render_how, render_why_not

    consultant = interview.consultant
    known = consultant.kb.knowledge.conclusions
    patient = interview.state().patient
    while True:
        typed = io.ask("Ask 'how ID' or 'why-not ID', or press Enter to finish [explain]: ")
        if typed is None or typed.strip().lower() in ("", "quit", "done", "exit"):
            return
        command, _, cid = typed.strip().partition(" ")
        cid = cid.strip()
        if command.lower() not in ("how", "why-not", "whynot") or not cid:
            io.say("  Type 'how ID' or 'why-not ID', e.g. 'why-not hypokalemia'.")
            continue
        if cid not in known:
            hint = did_you_mean(cid, known)
            io.say(f"  Unknown conclusion id '{visible(cid)}'" + (f"; {hint}" if hint else ""))
            continue
        if command.lower() == "how":
            io.say(render_how(consultant.how(result, cid)).rstrip("\n"))
        else:
            io.say(render_why_not(consultant.why_not(patient, result, cid)).rstrip("\n"))


__all__ = ["COMMANDS_HELP", "InterviewIO", "converse", "explain_after"]
