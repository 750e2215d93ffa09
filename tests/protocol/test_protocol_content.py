"""The shipped protocol declares every assay the study needs, with well-formed features."""

from __future__ import annotations

import re

import pytest

from immunome.protocol import load_protocol

NEEDED = [
    "cytof_pbmc",
    "flow_pbmc",
    "flow_whole_blood",
    "cbc",
    "multiplex_cytokines",
    "elisa",
    "hai_titer",
    "neutralization_titer",
    "clinical_chemistry",
    "lipid_panel",
    "antibody_titer_mfi",
    "olink",
    "rnaseq",
    "questionnaire",
    "hla_genotype",
]
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def proto():
    return load_protocol()


def test_every_needed_assay_is_declared(proto):
    assert set(NEEDED) <= {a.id for a in proto.assays}


def test_feature_ids_are_snake_case_except_ensembl(proto):
    bad = [
        (a.id, f.id)
        for a in proto.assays
        for f in a.features
        if not SNAKE.match(f.id) and not (a.id == "rnaseq" and f.id.startswith("ENSG"))
    ]
    assert bad == []


def test_every_declared_feature_has_ranges_and_plausible_within_range(proto):
    for a in proto.assays:
        for f in a.features:
            assert f.range is not None and f.plausible is not None, (a.id, f.id)
            assert f.range[0] <= f.plausible[0] <= f.plausible[1] <= f.range[1], (a.id, f.id)


def test_frequency_features_name_population_and_denominator(proto):
    pops = {p.id for p in proto.populations}
    for aid in ("cytof_pbmc", "flow_pbmc", "flow_whole_blood"):
        a = proto.assay(aid)
        assert a.scale == "logit"
        for f in a.features:
            assert f.population in pops and f.denominator in pops, (aid, f.id)
            assert f.unit == "%"


@pytest.mark.parametrize(
    ("pop", "cl"),
    [
        ("cd4_t_cell", "CL:0000624"),
        ("b_cell", "CL:0000236"),
        ("nk_cell", "CL:0000623"),
        ("monocyte", "CL:0000576"),
        ("treg", "CL:0000815"),
        ("plasmablast", "CL:0000980"),
    ],
)
def test_cell_ontology_terms(proto, pop, cl):
    assert proto.population(pop).ontology == cl


def test_10kip_and_cmipb_cytof_names_map_to_one_feature(proto):
    a = proto.assay("cytof_pbmc")
    assert a.feature("CD4_T_cells").id == a.feature("CD4Tcells").id == "cd4_t_cell"
    assert a.feature("ASCs (Plasmablasts)").id == a.feature("Plasmablasts").id == "plasmablast"
    assert a.feature("TemraCD8").id == a.feature("Effector_CD8_T_cells").id


def test_aliases_cover_normalized_file_variants(proto):
    assert proto.assay("hai_titer").feature("A.California.7.2009") is not None
    assert (
        proto.assay("neutralization_titer").feature("A.California.7.2009").id
        == proto.assay("neutralization_titer").feature("A/California/7/2009").id
    )
    assert proto.assay("elisa").feature("IFN1.").id == proto.assay("elisa").feature("IFN1@").id


def test_olink_declares_every_cmipb_header(proto, require_data):
    import glob

    root = require_data("cmipb")
    cols: set[str] = set()
    for f in glob.glob(str(root / "*" / "olink*.tsv")):
        with open(f) as fh:
            cols |= set(fh.readline().rstrip("\n").split("\t")[1:])
    a = proto.assay("olink")
    assert cols and all(a.feature(c) is not None for c in cols)


def test_every_10kip_measurement_column_is_declared(proto, require_data):
    from immunome.datasets._tenkip_read import DEMOGRAPHICS, TABLES, read_10kip_table

    free_text = {"CSQ28A", "CSQ51A", "CSQ51B", "CSQ51C", "CSQ51D", "concentration_unit"}
    for spec in TABLES:
        if spec.layout == "hla":
            continue
        cols = read_10kip_table(require_data(f"10kip/{spec.path}")).data.columns
        missing = [
            c
            for c in cols
            if c not in (*DEMOGRAPHICS, "_line")
            and c not in free_text
            and not any(proto.assay(a).feature(c) for a in spec.assays)
        ]
        assert missing == [], spec.key


def test_open_assays_declare_their_feature_pattern(proto):
    for aid in ("rnaseq", "hla_genotype"):
        a = proto.assay(aid)
        assert a.open_features and a.feature_pattern and a.default_range
    assert re.match(proto.assay("rnaseq").feature_pattern, "ENSG00000136244")
