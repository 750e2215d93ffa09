"""Relate and convert cell-population frequencies measured against different denominators.

Every frequency feature of the protocol names its ``population`` and its ``denominator`` (both ids
of the protocol's population tree). A value "X as % of A" becomes "X as % of B" by multiplying with
the frequencies along the gating chain between A and B:

    %X/B = %X/A × f(A) / f(B)

where ``f(Y)`` is the fraction of Y in the lowest common ancestor of A and B, i.e. the product of
"% of parent" frequencies along the chain. Those chain frequencies come from the same sample (for
example CD4 T cells % of lymphocytes and T cells % of lymphocytes from the same panel).

Example:
    >>> from immunome.protocol import load_protocol
    >>> p = load_protocol()
    >>> # 30% of lymphocytes are CD4 T cells; T cells are 60% of lymphocytes -> 50% of T cells
    >>> convert_frequency(30.0, population="cd4_t_cell", from_denominator="lymphocyte",
    ...                   to_denominator="t_cell", frequencies={"t_cell": 60.0}, protocol=p)
    50.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from immunome.errors import ProtocolError
from immunome.protocol._model import Feature, Protocol

Frequencies = Mapping[Any, Any]
"""``{population: % of its parent}`` and/or ``{(population, ancestor): % of ancestor}``."""


def _default() -> Protocol:
    from immunome.protocol._load import load_protocol

    return load_protocol()


def _parents(protocol: Protocol) -> dict[str, str | None]:
    return {p.id: p.parent for p in protocol.populations}


def lineage(population: str, *, protocol: Protocol) -> list[str]:
    """Return ``population`` and its ancestors, nearest first.

    Example:
        >>> from immunome.protocol import load_protocol
        >>> lineage("treg", protocol=load_protocol())
        ['treg', 'cd4_t_cell', 't_cell', 'lymphocyte', 'pbmc', 'leukocyte']
    """
    parents = _parents(protocol)
    if population not in parents:
        raise ProtocolError(f"unknown population {population!r}", allowed=sorted(parents))
    chain = [population]
    while (nxt := parents[chain[-1]]) is not None:
        if nxt in chain:
            raise ProtocolError(f"population tree has a cycle through {nxt!r}")
        chain.append(nxt)
    return chain


def common_ancestor(a: str, b: str, *, protocol: Protocol) -> str | None:
    """Lowest common ancestor of two populations (a population counts as its own ancestor).

    Example:
        >>> from immunome.protocol import load_protocol
        >>> common_ancestor("cd4_t_cell", "b_cell", protocol=load_protocol())
        'lymphocyte'
    """
    line_b = set(lineage(b, protocol=protocol))
    return next((x for x in lineage(a, protocol=protocol) if x in line_b), None)


def _fraction_within(node: str, top: str, frequencies: Frequencies, protocol: Protocol) -> Any:
    """Fraction (0–1) of ``node`` within its ancestor ``top``, from the chain frequencies."""
    chain = lineage(node, protocol=protocol)
    stop = chain.index(top)
    frac: Any = 1.0
    i = 0
    while i < stop:
        here = chain[i]
        jump = next((j for j in range(stop, i, -1) if (here, chain[j]) in frequencies), None)
        if jump is not None:
            frac = frac * frequencies[(here, chain[jump])] / 100.0
            i = jump
        elif here in frequencies:
            frac = frac * frequencies[here] / 100.0
            i += 1
        else:
            raise ProtocolError(
                f"cannot relate {node!r} to {top!r}: need the frequency of {here!r} "
                f"as % of {chain[i + 1]!r} (key {here!r} or ({here!r}, {chain[i + 1]!r}))",
                allowed=sorted(map(str, frequencies)),
            )
    return frac


def convert_frequency(
    value: Any,
    *,
    population: str,
    from_denominator: str,
    to_denominator: str,
    frequencies: Frequencies,
    protocol: Protocol | None = None,
) -> Any:
    """Express ``value`` (% of ``from_denominator``) as % of ``to_denominator``.

    ``protocol`` defaults to the latest shipped protocol.

    Both denominators must be ``population`` itself or one of its ancestors. ``value`` and the
    frequencies may be floats, NumPy arrays or pandas Series (one entry per sample).

    Example:
        >>> from immunome.protocol import load_protocol
        >>> convert_frequency(12.0, population="cd4_t_cell", from_denominator="pbmc",
        ...                   to_denominator="lymphocyte", frequencies={"lymphocyte": 80.0},
        ...                   protocol=load_protocol())
        15.0
    """
    protocol = protocol or _default()
    line = lineage(population, protocol=protocol)
    for den in (from_denominator, to_denominator):
        if den not in line:
            raise ProtocolError(
                f"{den!r} is not {population!r} or one of its ancestors; a frequency of "
                f"{population!r} cannot be expressed relative to it",
                allowed=line,
            )
    if from_denominator == to_denominator:
        return value
    top = common_ancestor(from_denominator, to_denominator, protocol=protocol)
    assert top is not None  # both are on the same lineage
    f_from = _fraction_within(from_denominator, top, frequencies, protocol)
    f_to = _fraction_within(to_denominator, top, frequencies, protocol)
    return value * f_from / f_to


@dataclass(frozen=True)
class FrequencyRelation:
    """How two frequency features relate (see :func:`relate`)."""

    population_a: str
    population_b: str
    denominator_a: str
    denominator_b: str
    same_population: bool
    same_denominator: bool
    common_ancestor: str | None
    needs: tuple[tuple[str, str], ...]
    """(population, parent) frequencies needed to bring A onto B's denominator."""

    @property
    def directly_comparable(self) -> bool:
        """Same population on the same denominator: values compare as they are."""
        return self.same_population and self.same_denominator

    @property
    def convertible(self) -> bool:
        """Same population; different denominators on one lineage (needs chain frequencies)."""
        return self.same_population and self.common_ancestor is not None


def relate(
    feature_a: Feature, feature_b: Feature, *, protocol: Protocol | None = None
) -> FrequencyRelation:
    """Describe how frequency features ``feature_a`` and ``feature_b`` relate.

    Example:
        >>> from immunome.protocol import load_protocol
        >>> p = load_protocol()
        >>> r = relate(p.assay("cytof_pbmc").feature("CD4_T_cells"),
        ...            p.assay("flow_pbmc").feature("CD4_T_cells"), protocol=p)
        >>> r.same_population, r.same_denominator, r.needs
        (True, False, (('lymphocyte', 'pbmc'),))
    """
    protocol = protocol or _default()
    for f in (feature_a, feature_b):
        if not (f.population and f.denominator):
            raise ProtocolError(
                f"feature {f.id!r} is not a population frequency (no population/denominator)"
            )
    pa, pb = feature_a.population, feature_b.population
    da, db = feature_a.denominator, feature_b.denominator
    assert pa and pb and da and db
    top = common_ancestor(da, db, protocol=protocol)
    needs: list[tuple[str, str]] = []
    if top is not None:
        for den in (da, db):
            chain = lineage(den, protocol=protocol)
            needs.extend(
                zip(chain[: chain.index(top)], chain[1 : chain.index(top) + 1], strict=True)
            )
    return FrequencyRelation(
        population_a=pa,
        population_b=pb,
        denominator_a=da,
        denominator_b=db,
        same_population=pa == pb,
        same_denominator=da == db,
        common_ancestor=top,
        needs=tuple(needs),
    )
