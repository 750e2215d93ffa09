"""The study protocol as data: participant fields, visits, units, vocabularies, assays, features."""

from immunome.protocol._frequency import (
    FrequencyRelation,
    common_ancestor,
    convert_frequency,
    lineage,
    relate,
)
from immunome.protocol._load import (
    DEFAULT_PROTOCOL,
    list_protocols,
    load_protocol,
    protocol_from_path,
)
from immunome.protocol._model import (
    Assay,
    Feature,
    ParticipantField,
    Population,
    Protocol,
    Unit,
    Visit,
    Vocabulary,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "Assay",
    "Feature",
    "FrequencyRelation",
    "ParticipantField",
    "Population",
    "Protocol",
    "Unit",
    "Visit",
    "Vocabulary",
    "common_ancestor",
    "convert_frequency",
    "lineage",
    "list_protocols",
    "load_protocol",
    "protocol_from_path",
    "relate",
]
