"""nbgrader autograde + generate_feedback for ONE submission, run inside the sandbox.

This file is copied into the submission's throwaway course folder and run there as a script,
with that folder as the sandbox's only writable place; it imports nothing from `autograder`
(which is not visible inside). It writes `outcome.json`; the grader reads it back as untrusted
data, since the student's kernel runs as the same user and could have rewritten it.

Usage (inside the folder): python sandbox_autograde.py STUDENT ASSIGNMENT [CELL_TIMEOUT]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def deduplicate_ids_class():
    from nbgrader.preprocessors import DeduplicateIds

    class DeduplicateIdsDroppingMetadata(DeduplicateIds):
        """A duplicated cell loses its nbgrader metadata (nbgrader 0.9 leaves `{}`, which
        OverwriteCells then trips over)."""

        def preprocess_cell(self, cell, resources, cell_index):
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
            return cell, resources

    return DeduplicateIdsDroppingMetadata


def main(student: str, assignment: str, cell_timeout: str | None = None) -> int:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, OverwriteCells, OverwriteKernelspec
    from traitlets.config.loader import PyFileConfigLoader

    root = Path.cwd()
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url
    config.Autograde.sanitize_preprocessors = [ClearOutput, deduplicate_ids_class(), OverwriteKernelspec,
                                               OverwriteCells, CheckCellMetadata]
    config.Execute.execute_retries = 0
    if cell_timeout:
        config.Execute.timeout = int(cell_timeout)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)

    outcome: dict = {"success": False, "log": "", "grades": {}, "feedback": False}
    result = api.autograde(assignment, student, force=True, create=True)
    outcome["log"] = (result.get("log") or "")[-4000:] + "\n" + str(result.get("error") or "")
    if result["success"]:
        outcome["success"] = True
        with Gradebook(db_url) as gb:
            for notebook in gb.find_assignment(assignment).notebooks:
                sub = gb.find_submission_notebook(notebook.name, assignment, student)
                outcome["grades"][notebook.name] = {g.name: g.auto_score for g in sub.grades}
        feedback = api.generate_feedback(assignment, student, force=True)
        outcome["feedback"] = bool(feedback["success"])
    Path("outcome.json").write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
