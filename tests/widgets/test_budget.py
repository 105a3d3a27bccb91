"""The parameter-budget explorable: the cached runs against the code that makes them, and the
figure's sources driven through the Viewer's parameters."""

import json
import math
from dataclasses import asdict

import numpy as np
import panel as pn
import pytest

from kan_core import KAN, MLP
from widgets import budget as B


@pytest.fixture(scope="module")
def doc():
    doc, problem = B.load_asset()
    assert problem is None, problem
    return doc


@pytest.fixture
def explorer():
    return B.BudgetExplorer()


def _best(points, budget):
    """Independent of the widget: the lowest test RMSE among the points that fit the budget."""
    fitting = sorted((p["test_rmse"], p["n_params"]) for p in points if p["n_params"] <= budget)
    return fitting[0] if fitting else None


# -- the cache is what the code produces --------------------------------------------------------
def test_the_cache_records_the_settings_of_this_module_and_the_time_it_took(doc):
    for exp in B.EXPERIMENTS:
        stored = doc["experiments"][exp.key]
        assert stored["settings"] == json.loads(json.dumps(asdict(exp)))
        assert [p["grid"] for p in stored["kan"]] == list(exp.kan_grids)
        assert [tuple(p["width"]) for p in stored["mlp"]] == list(exp.mlp_widths)
    assert doc["command"] == "python -m widgets.budget --write-asset"
    assert 0 < doc["seconds"] < 3600 and doc["train_cpu_seconds"] > 0


def test_one_cached_mlp_run_is_reproduced_by_the_script_code(doc):
    exp = B.EXPERIMENT["smooth"]
    stored = doc["experiments"]["smooth"]["mlp"][0]
    fresh = B.run_mlp(exp, exp.mlp_widths[0])
    assert stored["width"] == list(exp.mlp_widths[0])
    assert fresh["n_params"] == stored["n_params"]
    assert abs(fresh["test_rmse"] - stored["test_rmse"]) <= 1e-8 * stored["test_rmse"]
    assert abs(fresh["train_rmse"] - stored["train_rmse"]) <= 1e-8 * stored["train_rmse"]
    np.testing.assert_allclose(np.reshape(fresh["pred"], stored["pred"].shape), stored["pred"], rtol=1e-8, atol=1e-12)


def test_the_first_step_of_the_cached_kan_staircase_is_reproduced_by_the_script_code(doc):
    exp = B.EXPERIMENT["smooth"]
    stored = doc["experiments"]["smooth"]["kan"][0]
    [fresh] = B.run_kan(exp, grids=exp.kan_grids[:1])
    assert fresh["grid"] == stored["grid"] == exp.kan_grids[0]
    assert abs(fresh["test_rmse"] - stored["test_rmse"]) <= 1e-8 * stored["test_rmse"]
    np.testing.assert_allclose(np.reshape(fresh["pred"], stored["pred"].shape), stored["pred"], rtol=1e-8, atol=1e-12)


def test_parameter_counts_follow_the_two_formulas(doc):
    for exp in B.EXPERIMENTS:
        stored = doc["experiments"][exp.key]
        for p in stored["kan"]:
            edges = sum(a * b for a, b in zip(exp.kan_width[:-1], exp.kan_width[1:]))
            assert p["n_params"] == edges * (p["grid"] + exp.kan_k + 2) == KAN.count_params(exp.kan_width, p["grid"], 3)
        for p in stored["mlp"]:
            w = p["width"]
            assert p["n_params"] == sum((a + 1) * b for a, b in zip(w[:-1], w[1:])) == MLP.count_params(w)


def test_the_target_heatmaps_hold_the_two_functions(doc):
    n = doc["heatmap_n"]
    x1, x2 = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    smooth = np.exp(np.sin(np.pi * x1) + x2 ** 2)
    np.testing.assert_allclose(doc["experiments"]["smooth"]["heatmap"]["target"], smooth, rtol=1e-9)
    x3, x4 = doc["experiments"]["messy"]["heatmap"]["slice_values"]
    messy = np.abs(x1 + x2 - x3 + 0.3) + x3 * np.maximum(0, x2 - x4) + 0.5 * np.sin(3 * x1 * x4)
    np.testing.assert_allclose(doc["experiments"]["messy"]["heatmap"]["target"], messy, rtol=1e-9, atol=1e-12)


# -- what the data show --------------------------------------------------------------------------
def test_on_the_smooth_target_the_kan_beats_every_mlp_it_can_afford(doc):
    exp = doc["experiments"]["smooth"]
    ratios = []
    for kan in exp["kan"]:
        mlp_rmse, _ = _best(exp["mlp"], kan["n_params"])
        kan_rmse, _ = _best(exp["kan"], kan["n_params"])
        ratios.append(mlp_rmse / kan_rmse)
    assert min(ratios) > 1.5          # at every budget where a KAN exists at all
    assert max(ratios) > 4            # and by far once the grid is fine enough
    for budget in (B.DEFAULT_BUDGET, B.NOTE_BUDGET):
        assert _best(exp["mlp"], budget)[0] > 3 * _best(exp["kan"], budget)[0]
    # the MLP's best error anywhere is beaten by a KAN with fewer than half its parameters
    mlp_best = min(exp["mlp"], key=lambda p: p["test_rmse"])
    cheapest = min(p["n_params"] for p in exp["kan"] if p["test_rmse"] <= mlp_best["test_rmse"])
    assert cheapest * 2 < mlp_best["n_params"]


def test_on_the_messy_target_the_advantage_flips(doc):
    exp = doc["experiments"]["messy"]
    kan_rmse, _ = _best(exp["kan"], B.NOTE_BUDGET)
    mlp_rmse, _ = _best(exp["mlp"], B.NOTE_BUDGET)
    assert kan_rmse > 1.5 * mlp_rmse
    # the KAN's best error anywhere is beaten by an MLP with fewer parameters than that KAN has
    kan_best = min(exp["kan"], key=lambda p: p["test_rmse"])
    assert min(p["n_params"] for p in exp["mlp"] if p["test_rmse"] <= kan_best["test_rmse"]) < kan_best["n_params"]


def test_the_chapter_text_about_the_staircase_and_the_costs_matches_the_data(doc):
    # "a fine enough grid starts to fit the quirks of the sample, and the test error stops improving"
    kan = [p["test_rmse"] for p in doc["experiments"]["smooth"]["kan"]]
    assert kan[-1] > min(kan) and kan.index(min(kan)) < len(kan) - 1
    # "within a small factor of each other per parameter, sometimes one ahead and sometimes the other"
    ratios = []
    for exp in doc["experiments"].values():
        for budget in B.nice_budgets(10, 2000):
            kan_p, mlp_p = B.best_within(exp["kan"], budget), B.best_within(exp["mlp"], budget)
            if kan_p and mlp_p:
                ratios.append((kan_p["grad_seconds"] / kan_p["n_params"]) / (mlp_p["grad_seconds"] / mlp_p["n_params"]))
    assert 1 / 4 < min(ratios) < 1 < max(ratios) < 4


def test_the_note_states_the_numbers_of_the_data(doc):
    for key in ("smooth", "messy"):
        exp = doc["experiments"][key]
        kan_rmse, _ = _best(exp["kan"], 1000)
        mlp_rmse, _ = _best(exp["mlp"], 1000)
        note = B.comparison_note(exp)
        assert f"{B.fmt_rmse(kan_rmse)} and the best MLP {B.fmt_rmse(mlp_rmse)}" in note
        if kan_rmse < mlp_rmse:
            assert f"The MLP's error is {mlp_rmse / kan_rmse:.1f} times the KAN's." in note
        else:
            assert f"The KAN's error is {kan_rmse / mlp_rmse:.1f} times the MLP's." in note


# -- the Viewer ----------------------------------------------------------------------------------
def _chosen(explorer):
    data = explorer._chosen_src.data
    return {color: (x, y) for color, x, y in zip(data["color"], data["x"], data["y"])}


def test_the_default_shows_the_smooth_target_at_a_budget_where_the_kan_wins_clearly(explorer, doc):
    assert (explorer.target, explorer.budget) == ("smooth", B.DEFAULT_BUDGET)
    exp = doc["experiments"]["smooth"]
    assert explorer._curve_src["kan"].data["n_params"] == [p["n_params"] for p in exp["kan"]]
    assert explorer._curve_src["kan"].data["test_rmse"] == [p["test_rmse"] for p in exp["kan"]]
    both = explorer._curve_src["mlp1"].data["n_params"] + explorer._curve_src["mlp2"].data["n_params"]
    assert sorted(both) == sorted(p["n_params"] for p in exp["mlp"])
    kan_rmse, kan_n = _best(exp["kan"], B.DEFAULT_BUDGET)
    mlp_rmse, mlp_n = _best(exp["mlp"], B.DEFAULT_BUDGET)
    assert _chosen(explorer) == {B.TEAL: (kan_n, kan_rmse), B.ORANGE: (mlp_n, mlp_rmse)}
    assert mlp_rmse > 3 * kan_rmse
    assert explorer._line.location == explorer._over.left == B.DEFAULT_BUDGET
    assert f"{mlp_rmse / kan_rmse:.1f} times the KAN's" in " ".join(explorer.readout())


def test_the_heatmaps_show_the_chosen_models_predictions_and_errors(explorer, doc):
    exp = doc["experiments"]["smooth"]
    n = doc["heatmap_n"]
    target = np.exp(np.sin(np.pi * np.linspace(-1, 1, n))[None, :] + np.linspace(-1, 1, n)[:, None] ** 2)
    for budget in (B.DEFAULT_BUDGET, 130, 1500):
        explorer.budget = budget
        for kind in ("kan", "mlp"):
            _, n_params = _best(exp[kind], budget)
            p = next(q for q in exp[kind] if q["n_params"] == n_params)
            shown = explorer._heat_src[kind].data["image"][0]
            np.testing.assert_array_equal(shown, p["pred"])
            np.testing.assert_allclose(explorer._heat_src[f"{kind}_err"].data["image"][0],
                                       np.abs(shown - target), rtol=1e-8, atol=1e-9)
            assert f"{n_params:,} params" in explorer._heat[kind].title.text
        np.testing.assert_allclose(explorer._heat_src["target"].data["image"][0], target, rtol=1e-9)


def test_moving_the_budget_moves_the_line_the_highlights_and_the_readout(explorer, doc):
    exp = doc["experiments"]["smooth"]
    before = explorer.readout()
    explorer.budget = 160
    kan_rmse, kan_n = _best(exp["kan"], 160)
    mlp_rmse, mlp_n = _best(exp["mlp"], 160)
    assert _chosen(explorer) == {B.TEAL: (kan_n, kan_rmse), B.ORANGE: (mlp_n, mlp_rmse)}
    assert explorer._line.location == 160 and explorer._budget_label.text == "budget 160"
    assert explorer.readout() != before and f"{kan_n:,} parameters" in explorer.readout()[1]
    assert explorer._slider.value == 150  # the slider sits at the nearest of its log-spaced stops


def test_the_slider_steps_through_log_spaced_budgets_covering_every_model(explorer, doc):
    options = explorer._slider.options
    ratios = np.array(options[1:]) / np.array(options[:-1])
    assert np.all((ratios > 1.1) & (ratios < 1.6))
    sizes = [p["n_params"] for kind in ("kan", "mlp") for p in doc["experiments"]["smooth"][kind]]
    assert options[0] <= min(sizes) and options[-1] >= max(sizes)
    explorer._slider.value = options[-1]
    assert explorer.budget == options[-1]
    assert len(explorer._chosen_src.data["x"]) == 2


def test_a_budget_too_small_for_any_kan_says_so_and_blanks_its_heatmap(explorer, doc):
    smallest = min(p["n_params"] for p in doc["experiments"]["smooth"]["kan"])
    explorer.budget = smallest - 1
    assert _chosen(explorer).keys() == {B.ORANGE}
    assert np.isnan(explorer._heat_src["kan"].data["image"][0]).all()
    assert f"KAN: none fits; the smallest here has {smallest:,} parameters." in explorer.readout()
    assert explorer._heat["kan"].title.text == "KAN: none in budget"


def test_the_target_switch_swaps_curves_heatmaps_and_the_note(explorer, doc):
    smooth_note = explorer.note()
    stops = list(explorer._slider.options)
    explorer.target = "messy"
    assert explorer._slider.options == stops and explorer._slider.value == B.DEFAULT_BUDGET
    exp = doc["experiments"]["messy"]
    assert explorer._curve_src["kan"].data["test_rmse"] == [p["test_rmse"] for p in exp["kan"]]
    np.testing.assert_array_equal(explorer._heat_src["target"].data["image"][0], exp["heatmap"]["target"])
    assert explorer.note() == B.comparison_note(exp) != smooth_note
    assert "x₃ = 0.5 and x₄ = −0.5" in explorer._caption_html()
    kan_rmse, _ = _best(exp["kan"], explorer.budget)
    mlp_rmse, _ = _best(exp["mlp"], explorer.budget)
    assert _chosen(explorer)[B.TEAL][1] == kan_rmse and _chosen(explorer)[B.ORANGE][1] == mlp_rmse


def test_reset_restores_the_default(explorer):
    explorer.param.update(target="messy", budget=60)
    explorer.reset()
    assert (explorer.target, explorer.budget) == ("smooth", B.DEFAULT_BUDGET)
    assert explorer._slider.value == B.DEFAULT_BUDGET
    assert explorer._line.location == B.DEFAULT_BUDGET


def test_the_readout_gives_the_measured_gradient_times(explorer, doc):
    kan = B.best_within(doc["experiments"]["smooth"]["kan"], B.DEFAULT_BUDGET)
    last = explorer.readout()[-1]
    assert f"KAN {kan['grad_seconds'] * 1e3:.2g} ms" in last and "1,000 training points" in last


def test_each_explorer_reads_its_own_copy_of_the_file():
    first, second = B.BudgetExplorer(), B.BudgetExplorer()
    first.budget = 100
    assert second.budget == B.DEFAULT_BUDGET
    assert first._doc is not second._doc and first._chosen_src is not second._chosen_src


# -- a bad file ----------------------------------------------------------------------------------
def _raw():
    return json.loads(B.ASSET.read_text())


def _drop_key(raw):
    del raw["experiments"]["smooth"]["kan"][2]["test_rmse"]


def _nan_pred(raw):
    raw["experiments"]["messy"]["mlp"][0]["pred"][5] = math.nan


def _short_pred(raw):
    raw["experiments"]["smooth"]["mlp"][1]["pred"].pop()


def _wrong_count(raw):
    raw["experiments"]["smooth"]["mlp"][1]["n_params"] += 1


def _no_messy(raw):
    del raw["experiments"]["messy"]


@pytest.mark.parametrize("spoil, complaint", [
    (_drop_key, "the smooth target: kan point 2 is missing test_rmse"),
    (_nan_pred, "the messy target: mlp point 0: pred contains NaN or infinite values"),
    (_short_pred, "the smooth target: mlp point 1: pred must be a list of 1600 numbers"),
    (_wrong_count, "n_params does not match its width"),
    (_no_messy, "it has no results for the messy target"),
])
def test_a_spoiled_file_gives_a_clear_message_and_the_widget_still_renders(tmp_path, spoil, complaint):
    raw = _raw()
    spoil(raw)
    path = tmp_path / "budget.json"
    path.write_text(json.dumps(raw))
    explorer = B.BudgetExplorer(path=path)
    assert complaint in explorer.problem
    assert "python -m widgets.budget --write-asset" in explorer.problem
    _assert_renders_empty_with_message(explorer)


@pytest.mark.parametrize("content, complaint", [
    (None, "were not found"),
    ("{not json", "could not be read"),
    ("[1, 2]", "the file must hold a JSON object"),
])
def test_a_missing_or_unreadable_file_gives_a_clear_message(tmp_path, content, complaint):
    path = tmp_path / "budget.json"
    if content is not None:
        path.write_text(content)
    explorer = B.BudgetExplorer(path=path)
    assert complaint in explorer.problem
    _assert_renders_empty_with_message(explorer)


def _assert_renders_empty_with_message(explorer):
    assert explorer._curve_src["kan"].data["n_params"] == []
    assert explorer._chosen_src.data["x"] == []
    explorer.budget = 100
    explorer.target = "messy"
    assert explorer.readout() == [explorer.problem]
    assert explorer.problem in explorer._lines_html()
    pn.panel(explorer).get_root()  # builds the Bokeh models without raising
