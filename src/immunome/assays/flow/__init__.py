"""Flow cytometry: FCS → compensation → transforms → Gating-ML 2.0 gates → population features.

Built on FlowKit/FlowIO (FCS parsing, Gating-ML, transforms are theirs). Adds typed errors that
name the file and channel, per-file QC, batch processing on Dask with a resumable cache, and
bundles in the ``immunome-bundle/1`` format.

Example:
    >>> from immunome.assays import flow
    >>> flow.load_template("tcell-memory-100715").assay
    'flow_tcell_memory'
"""

from immunome.assays.flow._batch import BatchFailure, BatchResult, process_batch
from immunome.assays.flow._bundle import read_sample_sheet, write_bundle
from immunome.assays.flow._comp import Compensation, parse_spill, read_comp_csv
from immunome.assays.flow._gate import GateResult, apply_gates
from immunome.assays.flow._process import FlowResult, process_fcs
from immunome.assays.flow._qc import QcThresholds, qc_table
from immunome.assays.flow._read import file_sha256, read_fcs
from immunome.assays.flow._template import Template, list_templates, load_template

__all__ = [
    "BatchFailure",
    "BatchResult",
    "Compensation",
    "FlowResult",
    "GateResult",
    "QcThresholds",
    "Template",
    "apply_gates",
    "file_sha256",
    "list_templates",
    "load_template",
    "parse_spill",
    "process_batch",
    "process_fcs",
    "qc_table",
    "read_comp_csv",
    "read_fcs",
    "read_sample_sheet",
    "write_bundle",
]
