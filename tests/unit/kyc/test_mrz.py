"""MRZ check digits (ICAO 9303, 7-3-1) on the published specimens, valid and corrupted,
and the OCR repairs the parser may make (and those it must not)."""

from __future__ import annotations

import pytest

from clearsight.vision.documents.mrz import (SPECIMEN_TD1, SPECIMEN_TD3, check_digit, compose_td1, compose_td3,
                                             find_mrz, parse_td1, parse_td3)


def test_check_digits_of_the_icao_specimens():
    # ICAO 9303 Part 3's worked examples
    assert check_digit("L898902C3") == "6" and check_digit("740812") == "2" and check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1" and check_digit("D23145890") == "7"
    m = parse_td3(*SPECIMEN_TD3)
    assert m.valid and not m.repairs and m.format == "TD3"
    assert (m.surname, m.given_names, m.document_number, m.birth_date, m.sex, m.expiry_date, m.optional_data) == \
        ("ERIKSSON", "ANNA MARIA", "L898902C3", "740812", "F", "120415", "ZE184226B")
    t = parse_td1(*SPECIMEN_TD1)
    assert t.valid and t.format == "TD1" and t.document_number == "D23145890" and t.name == "ANNA MARIA ERIKSSON"


@pytest.mark.parametrize("pos, char, failing", [
    (3, "7", {"document_number", "composite"}),  # a digit of the document number
    (15, "9", {"birth_date", "composite"}),
    (25, "3", {"expiry_date", "composite"}),
    (30, "Q", {"optional_data", "composite"}),
    (43, "1", {"composite"}),
])
def test_a_corrupted_character_fails_its_check_digits(pos, char, failing):
    line2 = SPECIMEN_TD3[1]
    bad = line2[:pos] + char + line2[pos + 1:]
    assert bad != line2
    m = parse_td3(SPECIMEN_TD3[0], bad)
    assert not m.valid and set(m.failed_checks) == failing


def test_ocr_confusions_are_repaired_only_when_the_check_digits_agree():
    line1, line2 = SPECIMEN_TD3
    # O read for 0 in the document number, a digit zero in the name, filler read as K / miscounted
    ocr1 = line1.replace("ERIKSSON", "ER1KSS0N").replace("<<<<<<<<<<", "<<<<<<<<<KK")
    ocr2 = line2.replace("L898902C3", "L8989O2C3").replace("B<<<<<1", "B<<<<1")
    m = parse_td3(ocr1, ocr2)
    assert m.valid and m.surname == "ERIKSSON" and m.document_number == "L898902C3"
    assert any("document_number" in r for r in m.repairs)
    # a real error is never "repaired" into validity: 9 -> 7 is no OCR confusion
    wrong = parse_td3(line1, line2.replace("L898902C3", "L878902C3"))
    assert not wrong.valid and wrong.document_number == "L878902C3"


def test_composed_lines_round_trip_and_the_mrz_is_found_among_other_text():
    l1, l2 = compose_td3(surname="DOE", given_names="JANE", number="X1234567", nationality="UTO", birth="900101",
                         sex="F", expiry="300101", optional="AB12")
    assert len(l1) == len(l2) == 44 and parse_td3(l1, l2).valid
    t = compose_td1(surname="DOE", given_names="JANE", number="X1234567", nationality="UTO", birth="900101", sex="F",
                    expiry="300101")
    assert all(len(x) == 30 for x in t) and parse_td1(*t).valid
    found = find_mrz(["UTOPIA PASSPORT", "Surname / Nom", "DOE", [l1, l1.replace("<", "«")], l2])
    assert found is not None and found.valid and found.surname == "DOE"
    assert find_mrz(["UTOPIA", "no machine readable zone here"]) is None
