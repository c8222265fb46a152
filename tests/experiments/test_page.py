import re

from occamlab.experiments.framework import Claim
from occamlab.experiments.page import claim_svg, claims_table
from occamlab.experiments.stats import compare, exceeds, trend


def _circles(svg):
    return [(float(x), float(y)) for x, y in re.findall(r"cx='([-\d.]+)' cy='([-\d.]+)'", svg)]


def test_a_comparison_draws_each_seed_and_the_interval_against_the_margin():
    test = compare([2.0, 2.1, 2.3], [1.0, 1.1, 0.9], margin=0.5, names=("big", "<small>"))
    svg = claim_svg(test.to_dict())
    dots = _circles(svg)
    assert len(dots) == 3 + 3 + 1  # every seed of both conditions, and the estimate
    rows = sorted({y for _, y in dots[:-1]})
    assert len(rows) == 2  # one row per condition
    big = [x for x, y in dots[:3]]
    small = [x for x, y in dots[3:6]]
    assert min(big) > max(small)  # drawn on one axis, in order
    assert "&lt;small&gt;" in svg and "<small>" not in svg
    margin_x = float(re.search(r"stroke-dasharray", svg) and re.findall(r"x1='([\d.]+)'", svg)[0])
    low_x, high_x = map(
        float, re.findall(r"x1='([\d.]+)' x2='([\d.]+)' y1='\d+' y2='\d+' stroke='#333'", svg)[0]
    )
    assert margin_x < low_x < dots[-1][0] < high_x  # the interval clears the margin: passed
    assert test.decision == "passed"


def test_an_interval_straddling_the_margin_is_drawn_across_it():
    test = exceeds([0.1, 0.9, 0.4, 0.7], 0.5, name="gap")
    svg = claim_svg(test.to_dict())
    margin_x = float(re.findall(r"x1='([\d.]+)'", svg)[0])
    low_x, high_x = map(
        float, re.findall(r"x1='([\d.]+)' x2='([\d.]+)' y1='\d+' y2='\d+' stroke='#333'", svg)[0]
    )
    assert low_x < margin_x < high_x and test.decision == "inconclusive"


def test_a_slope_is_drawn_as_value_against_x_and_one_seed_has_no_finite_interval():
    test = trend([0, 1, 2, 3, 4], [0.1, 0.3, 0.4, 0.7, 0.9], margin=0.0, name="error")
    dots = _circles(claim_svg(test.to_dict()))
    xs, ys = [x for x, _ in dots[:5]], [y for _, y in dots[:5]]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # rising: higher is up
    single = exceeds([0.7], 0.5, name="gap").to_dict()
    assert single["interval"][0] == float("-inf")
    assert "<svg" in claim_svg(single)
    stored = {**single, "interval": [None, None]}  # how JSON stores an unbounded interval
    low_x, high_x = map(
        float,
        re.findall(
            r"x1='([\d.]+)' x2='([\d.]+)' y1='\d+' y2='\d+' stroke='#333'", claim_svg(stored)
        )[0],
    )
    assert (low_x, high_x) == (92.0, 292.0)  # drawn across the whole panel


def test_the_claims_table_embeds_the_picture_of_each_tested_claim():
    tested = Claim.tested("bigger is sharper", compare([2, 2.1, 2.2], [1, 1.1, 1.0]), "e")
    html = claims_table([tested.to_dict(), Claim("plain", True, "e").to_dict()])
    assert html.count("<svg") == 1


def test_a_test_without_per_seed_values_draws_only_the_estimate():
    test = {**exceeds([0.6, 0.7, 0.8], 0.5).to_dict(), "points": {}}
    svg = claim_svg(test)
    assert len(_circles(svg)) == 1 and "effect" in svg
