from attrib.report.summary import _inferred, fit_reasons

REASONS = "rented VPS in a hosting network; password spray across 40 accounts; new this week"


def test_reasons_drop_whole_phrases():
    assert fit_reasons(REASONS, 200) == REASONS
    out = fit_reasons(REASONS, 70)
    assert out == "rented VPS in a hosting network (+2 more)"
    # every kept reason is whole
    for part in out.split(" (+")[0].split("; "):
        assert part in REASONS.split("; ")


def test_first_reason_kept_whole_even_when_wide():
    assert fit_reasons(REASONS, 10) == "rented VPS in a hosting network (+2 more)"
    assert fit_reasons(None, 10) == "" and fit_reasons("", 10) == ""


def test_inferred_line_says_what_was_found_or_nothing():
    assert _inferred({"inferred": ["services"], "services": []}) == ""
    assert _inferred({"inferred": []}) == ""
    said = _inferred(
        {
            "inferred": ["home_countries", "services", "accounts"],
            "home_countries": ["DE", "AT"],
            "services": ["192.0.2.1/32"],
            "accounts": 12,
        }
    )
    assert said == "home_countries=DE,AT, services: 1 network, accounts=12"
