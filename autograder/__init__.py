import sys

__version__ = '1.0.0'

# jsonschema registers an IRI format checker when `rfc3987_syntax` can be imported, and that module
# builds a Lark grammar at import: 1.7 s of every grading process's start, before anything is graded.
# Nothing here checks an IRI (nbformat's schemas use no `format`), so the grader's processes go
# without it; jsonschema then simply has no "iri" checker. Too late once jsonschema is imported.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
