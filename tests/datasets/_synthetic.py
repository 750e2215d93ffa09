"""A tiny synthetic 10KIP mirror (every table, a few rows, the real quirks) for fast unit tests."""

from __future__ import annotations

from pathlib import Path

from immunome.datasets._tenkip_read import DOCUMENTATION_FILES, TABLES

DEMO = "subject_accession,study_accession,age,gender,race"


def _w(root: Path, rel: str, text: str, *, cr: bool = False) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.replace("\n", "\r" if cr else "\n").encode("utf-8"))


def make_mirror(root: Path) -> Path:
    """Write ``root/10kip/…`` and return ``root``.

    Site SDY1 (CyTOF, CBC with a bad cell, an all-NA row, a repeated subject), SDY2 (HLA only, one
    subject without any age), questionnaire with the duplicated subject column.
    """
    k = root / "10kip"
    _w(
        k,
        "CyTOF_PBMC/cytof_pbmc_formatted.csv",
        '"study_accession","age","gender","race","subject_accession","B_cells","CD4_T_cells","T_cells"\n'
        '"SDY1",30.5,"Male","White","SUBA1",10.5,30,50\n'
        '"SDY1",40,"Female","Not Specified","SUBA2",NA,NA,NA\n'
        '"SDY1",40,"Female","Asian","SUBA3",150,20,40\n',
    )
    _w(
        k,
        "Lab_Tests_Blood_Count/complete_blood_count.csv",
        f"{DEMO},WBC_K_per_uL,EOSINOPHIL_COUNT_K_per_uL,ALT_IU_per_L\n"
        "SUBA1,SDY1,31.5,Male,White,5.5,51000,20\n"
        "SUBA1,SDY1,30.5,Male,White,6.1,0.2,NA\n",
        cr=True,
    )
    _w(
        k,
        "hla.csv",
        '"study_accession","subject_accession","age","race","gender","ancestral_population","locus_name",'
        '"allele_1","allele_2"\n'
        '"SDY2","SUBB1",50,"White","Female","Europe","HLA-A","A*02","A*02"\n'
        '"SDY2","SUBB1",50,"White","Female","Europe","HLA-DQB1","*0602","401"\n'
        '"SDY2","SUBB2",NA,"Not Specified","Not Specified","Europe","HLA-A","A*01","-"\n'
        '"SDY2","SUBB1",50,"White","Female","Europe","HLA-B","??",NA\n',
    )
    _w(
        k,
        "Questionnaire/questionnaire.csv",
        '"study_accession","subject_accession","age","race","gender","subject_accession","CSQ1","CSQ53B",'
        '"CSQ53A","CSQ51A"\n'
        '"SDY1","SUBA1",30.5,"White","Male","SUBA1","Yes","Some days","<1","advil"\n',
    )
    _w(k, "Questionnaire/questionnaire_dictionary.csv", "code book\n")
    written = {
        "CyTOF_PBMC/cytof_pbmc_formatted.csv",
        "Lab_Tests_Blood_Count/complete_blood_count.csv",
        "hla.csv",
        "Questionnaire/questionnaire.csv",
        *DOCUMENTATION_FILES,
    }
    for spec in TABLES:
        for rel in (spec.path, spec.normalized):
            if rel and rel not in written:
                _w(k, rel, f"{DEMO}\n")
    return root
