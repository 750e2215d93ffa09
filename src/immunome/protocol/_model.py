"""Pydantic models of the study protocol (the protocol *as data*)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ValueType = Literal["float", "int", "category", "bool", "string"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Strict):
    """A unit and how to convert it to its dimension's canonical unit: ``canonical = value * factor``."""

    symbol: str
    dimension: str
    factor: float = 1.0
    aliases: list[str] = Field(default_factory=list)


class Vocabulary(_Strict):
    """A controlled vocabulary: allowed terms, plus input synonyms that map onto them."""

    name: str
    terms: list[str]
    synonyms: dict[str, str] = Field(default_factory=dict)
    ontology: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _synonyms_target_terms(self) -> Vocabulary:
        bad = [s for s, t in self.synonyms.items() if t not in self.terms]
        if bad:
            raise ValueError(f"vocabulary {self.name}: synonyms map to unknown terms: {bad}")
        return self

    def canonical(self, value: str) -> str | None:
        """Return the allowed term for ``value`` (case-insensitive, synonyms applied) or None."""
        v = value.strip()
        lower = {t.lower(): t for t in self.terms}
        if v.lower() in lower:
            return lower[v.lower()]
        syn = {k.lower(): t for k, t in self.synonyms.items()}
        return syn.get(v.lower())


class ParticipantField(_Strict):
    """A participant-level field (age, sex, ancestry, CMV status, …)."""

    name: str
    label: str
    value_type: ValueType
    required: bool = False
    unit: str | None = None
    vocabulary: str | None = None
    range: tuple[float, float] | None = None
    plausible: tuple[float, float] | None = None
    top_code: tuple[float, float] | None = Field(
        default=None,
        description="(threshold, replacement): values above threshold become replacement",
    )
    description: str = ""


class Visit(_Strict):
    """A protocol timepoint, in days relative to the reference event (day 0)."""

    name: str
    day: int
    window: tuple[int, int] = (0, 0)


class Population(_Strict):
    """A gated cell population: its Cell Ontology term, marker definition and parent."""

    id: str
    label: str
    ontology: str | None = None
    markers: str
    parent: str | None = None


class Feature(_Strict):
    """One measured feature of an assay."""

    id: str
    label: str
    unit: str
    value_type: ValueType = "float"
    range: tuple[float, float] | None = None
    plausible: tuple[float, float] | None = None
    ontology: str | None = None
    population: str | None = None
    denominator: str | None = None
    aliases: list[str] = Field(default_factory=list)
    description: str = ""

    @model_validator(mode="after")
    def _frequency_has_denominator(self) -> Feature:
        if self.population and not self.denominator:
            raise ValueError(f"feature {self.id}: a population frequency needs a denominator")
        return self


class Assay(_Strict):
    """An assay of the protocol and its features."""

    id: str
    label: str
    kind: Literal[
        "cell_frequency",
        "cell_count",
        "concentration",
        "titer",
        "mfi",
        "expression",
        "clinical",
        "questionnaire",
        "genotype",
    ]
    technology: str
    sample_type: str
    scale: Literal["logit", "log", "linear"] = Field(
        default="linear", description="scale on which harmonisation and models work"
    )
    description: str = ""
    open_features: bool = Field(
        default=False, description="features not declared are accepted (e.g. RNA-seq genes)"
    )
    default_unit: str | None = None
    feature_pattern: str | None = Field(
        default=None, description="regex that undeclared feature ids must match (open_features)"
    )
    default_range: tuple[float, float] | None = Field(
        default=None, description="hard range for undeclared features (open_features)"
    )
    default_plausible: tuple[float, float] | None = Field(
        default=None, description="plausible range for undeclared features (open_features)"
    )
    features: list[Feature] = Field(default_factory=list)

    @field_validator("features")
    @classmethod
    def _unique_ids(cls, v: list[Feature]) -> list[Feature]:
        seen: set[str] = set()
        for f in v:
            if f.id in seen:
                raise ValueError(f"duplicate feature id {f.id}")
            seen.add(f.id)
        owner: dict[str, str] = {}
        for f in v:
            for name in {f.id.lower(), *(a.lower() for a in f.aliases)}:
                if owner.setdefault(name, f.id) != f.id:
                    raise ValueError(
                        f"name {name!r} is an id or alias of both {owner[name]} and {f.id}"
                    )
        return v

    def feature(self, name: str) -> Feature | None:
        """Find a feature by id or alias (case-insensitive)."""
        key = name.strip().lower()
        for f in self.features:
            if f.id.lower() == key or key in (a.lower() for a in f.aliases):
                return f
        return None


class Protocol(_Strict):
    """A versioned study protocol.

    Example:
        >>> from immunome.protocol import load_protocol
        >>> p = load_protocol()
        >>> p.id, p.version
        ('global-immunome-study', 1)
    """

    id: str
    version: int
    title: str
    description: str = ""
    reference_event: str
    supersedes: int | None = None
    units: list[Unit]
    vocabularies: list[Vocabulary]
    participant_fields: list[ParticipantField]
    visits: list[Visit]
    populations: list[Population] = Field(default_factory=list)
    assays: list[Assay] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        units = {u.symbol for u in self.units}
        vocabs = {v.name for v in self.vocabularies}
        pops = {p.id for p in self.populations}
        problems: list[str] = []
        for f in self.participant_fields:
            if f.vocabulary and f.vocabulary not in vocabs:
                problems.append(f"participant field {f.name}: unknown vocabulary {f.vocabulary}")
            if f.unit and f.unit not in units:
                problems.append(f"participant field {f.name}: unknown unit {f.unit}")
        for p in self.populations:
            if p.parent and p.parent not in pops:
                problems.append(f"population {p.id}: unknown parent {p.parent}")
        seen: set[str] = set()
        for a in self.assays:
            if a.id in seen:
                problems.append(f"duplicate assay id {a.id}")
            seen.add(a.id)
            for f in a.features:
                if f.unit not in units:
                    problems.append(
                        f"{a.id}.{f.id}: unknown unit {f.unit} (allowed: {', '.join(sorted(units))})"
                    )
                for ref in (f.population, f.denominator):
                    if ref and ref not in pops:
                        problems.append(
                            f"{a.id}.{f.id}: unknown population {ref} (see populations.yaml)"
                        )
            if a.default_unit and a.default_unit not in units:
                problems.append(f"{a.id}: unknown default_unit {a.default_unit}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # lookups -------------------------------------------------------------------------------
    def assay(self, assay_id: str) -> Assay:
        """Return the assay ``assay_id`` or raise :class:`~immunome.errors.ProtocolError`."""
        from immunome.errors import ProtocolError

        for a in self.assays:
            if a.id == assay_id:
                return a
        raise ProtocolError(f"unknown assay {assay_id!r}", allowed=[a.id for a in self.assays])

    def unit(self, symbol: str) -> Unit | None:
        """Find a unit by symbol or alias."""
        for u in self.units:
            if u.symbol == symbol or symbol in u.aliases:
                return u
        return None

    def vocabulary(self, name: str) -> Vocabulary:
        for v in self.vocabularies:
            if v.name == name:
                return v
        raise KeyError(name)

    def population(self, pop_id: str) -> Population:
        for p in self.populations:
            if p.id == pop_id:
                return p
        raise KeyError(pop_id)

    def convert(self, value: float, from_unit: str, to_unit: str) -> float:
        """Convert ``value`` between two units of the same dimension.

        Example:
            >>> from immunome.protocol import load_protocol
            >>> load_protocol().convert(1.0, "ng/mL", "pg/mL")
            1000.0
        """
        from immunome.errors import ProtocolError

        a, b = self.unit(from_unit), self.unit(to_unit)
        if a is None or b is None:
            raise ProtocolError(
                f"unknown unit {from_unit if a is None else to_unit!r}",
                allowed=[u.symbol for u in self.units],
            )
        if a.dimension != b.dimension:
            raise ProtocolError(
                f"cannot convert {a.symbol} ({a.dimension}) to {b.symbol} ({b.dimension})"
            )
        return value * a.factor / b.factor
