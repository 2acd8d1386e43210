"""Reference solutions from the source: solution markers and hidden tests removed, then executed."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests

from autograder.kernel_client import use_prompt_client

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


class StripSolutionMarkers(Preprocessor):
    """Keep the code of solution regions, drop the marker lines around it."""

    def preprocess_cell(self, cell, resources, index):
        if any(marker in cell.source for marker in SOLUTION_MARKERS):
            lines = cell.source.split("\n")
            cell.source = "\n".join(line for line in lines if line.strip() not in SOLUTION_MARKERS)
        return cell, resources


class DropGradingMetadata(Preprocessor):
    """A reference solution is for reading and running, not for grading."""

    def preprocess_cell(self, cell, resources, index):
        cell.metadata.pop("nbgrader", None)
        return cell, resources


class DropStderr(Preprocessor):
    """Keep machine noise (font-cache notices, deprecation warnings) out of the committed outputs."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        return cell, resources


def reference_notebook(source: Path) -> nbformat.NotebookNode:
    """The source notebook with hidden tests and solution markers removed (not yet executed)."""
    nb = nbformat.read(source, as_version=4)
    for step in (ClearHiddenTests(), StripSolutionMarkers(), DropGradingMetadata()):
        nb, _ = step.preprocess(nb, {})
    return nb


def execute(nb: nbformat.NotebookNode, workdir: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel in `workdir`; any error stops the build."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            config=use_prompt_client(), resources={"metadata": {"path": str(workdir)}})
    client.execute()
    nb, _ = DropStderr().preprocess(nb, {})
    return nb


def semantic_view(nb: nbformat.NotebookNode) -> list[tuple]:
    """What a reader sees: cell sources and text outputs; binary outputs by type only.

    PNG bytes and widget ids differ between library versions and runs, so two executions that print
    the same text and draw the same number of figures count as the same notebook. (So a change that
    only redraws a figure needs a changed alt text, or the old file deleted, to be written.)
    """
    view = []
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if outputs and outputs[-1][0] == out.name:  # one print may arrive in several chunks
                    outputs[-1] = (out.name, outputs[-1][1] + out.text)
                else:
                    outputs.append((out.name, out.text))
            elif out.output_type == "error":
                outputs.append(("error", out.ename, out.evalue))
            else:
                data = out.get("data", {})
                outputs.append(tuple(sorted((k, v if k in ("text/plain", "text/markdown") else None)
                                            for k, v in data.items())))
        view.append((cell.cell_type, cell.source, tuple(outputs)))
    return view
