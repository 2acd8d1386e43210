"""nbgrader configuration for the course (read by `python -m autograder` and by plain `nbgrader`)."""
from autograder.limits import CELL_TIMEOUT

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "gradient-descent"
c.CourseDirectory.source_directory = "source"

# A cell that runs longer than this is stopped and its test scores zero (the chapters need < 2 s a cell);
# the number is autograder/limits.py's, as `grade --cell-timeout` and the trusted verdict use it.
c.Execute.timeout = CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True
# A failing cell's traceback in Python's plain form (each frame's file, line and code): IPython's
# default form parses the whole source file of every frame, up to 0.7 s for one error raised inside
# matplotlib or torch. The feedback shows it under "Details (Python's traceback)".
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Plain"]

# Each pass (autograde, feedback) checks the notebook against the notebook format once, after its
# last step, instead of after each of its up to eleven steps (a step that leaves it invalid still
# fails the pass).
c.Exporter.optimistic_validation = True

# A correct answer that prints a harmless warning to stderr keeps its points: nbgrader would
# otherwise score any cell with stderr output as failed. Errors are still errors.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"

# A student who deletes a test cell gets it back, graded, instead of silently losing nothing.
c.OverwriteCells.add_missing_cells = True

# A flood of output is cut, not stored.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback for students: their own HTML made safe first; hidden tests cleared (nor quoted in a
# traceback); then each failed test's result in plain words first, wrapped, and math pre-rendered
# (no MathJax from the internet).
c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades",
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
                                    "autograder.grading.student_html.SanitizeStudentHTML",
                                    "autograder.grading.student_html.StudentFeedback",
                                    "autograder.grading.feedback_steps.FeedbackForStudents"]
