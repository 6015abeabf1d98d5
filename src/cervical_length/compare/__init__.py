"""Method comparison: the tool's cervical length against observers' manual calipers.

Read (``read_readings``) -> compute (``compare_readings``, built on the pure statistics below) ->
write (``write_tables``, ``write_plots``).
"""

from ._agreement import BlandAltman, Concordance, Interval, bland_altman, bland_altman_replicates, concordance
from ._analysis import MIN_PAIRS, THRESHOLDS_MM, Comparison, GroupAgreement, PairComparison, compare_readings
from ._decisions import Decision, decision_agreement, fleiss, proportion_interval
from ._plots import write_plots
from ._regression import Line, deming, passing_bablok
from ._reliability import ICC, intraclass
from ._report import comparison_dict, markdown, statistic_rows, write_tables
from ._tables import OBSERVER_NAME, OBSERVER_NAME_RULE, TOOL, ManualRow, Readings, read_readings

__all__ = [
    "BlandAltman",
    "Comparison",
    "Concordance",
    "Decision",
    "GroupAgreement",
    "ICC",
    "Interval",
    "Line",
    "MIN_PAIRS",
    "ManualRow",
    "OBSERVER_NAME",
    "OBSERVER_NAME_RULE",
    "PairComparison",
    "Readings",
    "THRESHOLDS_MM",
    "TOOL",
    "bland_altman",
    "bland_altman_replicates",
    "comparison_dict",
    "compare_readings",
    "concordance",
    "decision_agreement",
    "deming",
    "fleiss",
    "intraclass",
    "markdown",
    "passing_bablok",
    "proportion_interval",
    "read_readings",
    "statistic_rows",
    "write_plots",
    "write_tables",
]
