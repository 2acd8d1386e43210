"""A Jupyter server extension that the `formgrade` command loads: formgrader without its autograde.

formgrader's Autograde button runs plain `nbgrader autograde` inside the server: the student's code
unsandboxed with the instructor's rights, and nbgrader's in-kernel score written over the trusted
one. Its Generate and Collect buttons rewrite OUT's release and gradebook from OUT/source and OUT's
submissions from the exchange, both of which `grade` owns. In this server those actions answer
with a message that points to `python -m autograder grade`; everything else (hand grades,
comments, flags, feedback) works as before.

Why the API methods are replaced, not the routes: every formgrader handler builds an
`NbGraderAPI` per request and writes back the result dict, and the page shows a failed result's
`log` in its dialog, whereas a 403 or 409 only gets a generic "There was an error" without our
words. Replacing `NbGraderAPI`'s methods does not depend on formgrader's URL patterns or on the
order of tornado's routes (formgrader's catch-all `/formgrader/.*` would shadow a handler added
after it). As a backstop, nbgrader's Autograde converter refuses to start in this process.
"""
from __future__ import annotations

import textwrap

GRADE = "python -m autograder grade SUBMISSIONS --out OUT"
REFUSED = {
    "autograde": ("Autograde is switched off here: it would run the student's code outside the sandbox "
                  "with your rights and replace the trusted score with nbgrader's in-kernel one. "
                  f"Grade (or regrade, with --force) with `{GRADE}`; your hand grades are kept."),
    "generate_assignment": ("Generate is switched off here: `grade` stages this batch's source and "
                            f"release from the course. Rebuild the course, then run `{GRADE}`."),
    "collect": ("Collect is switched off here: `grade` reads the submissions itself. "
                f"Run `{GRADE}` on the submissions folder or the LMS .zip."),
}


def _refusal(action: str):
    def refuse(self, *args, **kwargs) -> dict:
        self.log.warning("formgrader: %s refused: %s", action, REFUSED[action])
        # the page shows `log` in a <pre> under "Log Output": lines it need not scroll
        return {"success": False, "log": textwrap.fill(REFUSED[action], 72, break_on_hyphens=False)}

    refuse.__name__ = action
    return refuse


def install() -> None:
    """Switch off the actions in REFUSED in this process (idempotent)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.converters.autograde import Autograde

    for action in REFUSED:
        setattr(NbGraderAPI, action, _refusal(action))

    def start(self) -> None:
        raise RuntimeError(REFUSED["autograde"])

    Autograde.start = start


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "autograder.grading.formgrader_guard"}]


def _load_jupyter_server_extension(serverapp) -> None:
    install()
    serverapp.log.info("formgrader: autograde, generate and collect switched off (use `%s`)", GRADE)
