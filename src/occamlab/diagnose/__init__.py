"""``occam diagnose``: the four questions about a trained network, answered in one report.

- :mod:`.spec`: :class:`DiagnoseSpec` and the quick/deep budgets.
- :mod:`.questions`: one function per question, each closing with a computed sentence.
- :mod:`.run`: :func:`diagnose` (a :class:`Diagnosis`) and :func:`diagnose_run` (stored, paged).
- :mod:`.page`: the report page (registered for ``occam report``).
"""

from occamlab.diagnose import page as _page  # noqa: F401  (registers the page renderer)
from occamlab.diagnose.questions import QUESTIONS, Answer
from occamlab.diagnose.run import Diagnosis, diagnose, diagnose_run
from occamlab.diagnose.spec import DiagnoseSpec

__all__ = ["QUESTIONS", "Answer", "DiagnoseSpec", "Diagnosis", "diagnose", "diagnose_run"]
