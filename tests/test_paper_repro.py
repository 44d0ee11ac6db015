"""Tests of paper_repro: statistics against scipy and closed forms, the table writer's
"inside CI" logic on hand-made numbers, the JSON round trip, and small real runs of
each experiment (few seeds, few steps) that check structure and the math that must hold."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats as st

from paper_repro import appendix_d, figure2, figure3, stats, table1
from paper_repro import paper_numbers as paper
from paper_repro.__main__ import main
from paper_repro.config import Config
from paper_repro.parts import render, run_part
from paper_repro.report import fmt, fmt_values, load_results, markdown_table, save_results
from paper_repro.runner import Run, Setting
from paper_repro.testing import fake_trainer

# --------------------------------------------------------------------------- paper numbers


def test_paper_table_has_every_row_and_column():
    for table, rows in ((paper.TABLE1_INIT, paper.INIT_ROWS),
                        (paper.TABLE1_PRUNING, paper.PRUNING_ROWS)):
        assert tuple(table) == rows
        for row in rows:
            assert tuple(table[row]) == paper.COLUMNS
    # the two halves share their reference row: Default == none for trained columns
    for col in ("xor", "sine"):
        assert paper.TABLE1_INIT["default"][col] == paper.TABLE1_PRUNING["none"][col]
    assert paper.TABLE1_PRUNING["none"]["untrained"] == (0.0, 0.0)


# --------------------------------------------------------------------------- stats


def test_summarize_matches_scipy_t_interval():
    x = np.array([0.61, 0.72, 0.68, 0.70, 0.66, 0.59])
    s = stats.summarize(x, level=0.9)
    lo, hi = st.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert s.mean == pytest.approx(x.mean())
    assert s.std == pytest.approx(x.std(ddof=1))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi))


def test_summarize_degenerate_samples_give_point_intervals():
    assert stats.mean_ci([0.0, 0.0, 0.0]) == (0.0, 0.0)
    one = stats.summarize([0.3])
    assert (one.std, one.ci_low, one.ci_high) == (0.0, 0.3, 0.3)
    with pytest.raises(ValueError, match="x needs at least 1"):
        stats.summarize([])
    with pytest.raises(ValueError, match="NaN"):
        stats.summarize([0.1, float("nan")])
    with pytest.raises(ValueError, match="level"):
        stats.summarize([0.1, 0.2], level=1.5)


def test_inside_ci_with_rounding_tolerance():
    assert stats.inside_ci(0.5, 0.4, 0.6)
    assert stats.inside_ci(0.4, 0.4, 0.6)  # closed interval
    assert not stats.inside_ci(0.3995, 0.4, 0.6)
    assert stats.inside_ci(0.3995, 0.4, 0.6, tolerance=5e-4)
    assert not stats.inside_ci(0.3994, 0.4, 0.6, tolerance=5e-4)
    with pytest.raises(ValueError, match="low must be <= high"):
        stats.inside_ci(0.5, 0.6, 0.4)


def test_welch_matches_scipy_and_decides_degenerate_cases():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.1, 0.05, 10), rng.normal(0.0, 0.03, 8)
    r = stats.welch_test(a, b)
    ref = st.ttest_ind(a, b, equal_var=False)
    assert (r.statistic, r.p_value) == pytest.approx((ref.statistic, ref.pvalue))
    assert r.difference == pytest.approx(a.mean() - b.mean())
    # Welch's t by its closed form
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    assert r.statistic == pytest.approx((a.mean() - b.mean()) / math.sqrt(va + vb))
    assert stats.welch_test([0.0] * 4, [0.0] * 4).p_value == 1.0
    assert stats.welch_test([0.0] * 4, [0.2] * 4).p_value == 0.0


def test_permutation_test_exact_enumeration_by_hand():
    a, b = [0.3, 0.5, 0.4], [0.1, 0.2, 0.15, 0.0]
    pooled = a + b
    obs = np.mean(a) - np.mean(b)
    hits = total = 0
    for idx in itertools.combinations(range(7), 3):
        g = [pooled[i] for i in idx]
        rest = [pooled[i] for i in range(7) if i not in idx]
        total += 1
        hits += abs(np.mean(g) - np.mean(rest)) >= abs(obs) - 1e-12
    r = stats.permutation_test(a, b)
    assert r.method == "exact permutation"
    assert r.p_value == pytest.approx(hits / total)
    assert r.difference == pytest.approx(obs)


def test_permutation_test_paired_and_sampled_agree_with_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.05, 0.1, 8), rng.normal(0.0, 0.1, 8)
    paired = stats.permutation_test(a, b, paired=True)
    ref = st.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                              n_resamples=np.inf)
    assert paired.p_value == pytest.approx(ref.pvalue)
    a, b = rng.normal(0.1, 0.1, 15), rng.normal(0.0, 0.1, 15)  # C(30, 15) > max_exact: sampled
    sampled = stats.permutation_test(a, b, n_resamples=20000, seed=0)
    ref = st.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), n_resamples=20000,
                              random_state=0)
    assert sampled.method == "permutation"
    assert sampled.p_value == pytest.approx(ref.pvalue, abs=0.02)


def test_holm_skips_missing_tests():
    assert stats.holm([0.01, None, 0.5]) == [0.02, None, 0.5]  # a family of two
    assert stats.holm([None, None]) == [None, None]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stats.holm([0.5, 1.5])


def test_holm_matches_literal_definition():
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    order = sorted(range(len(p)), key=lambda i: p[i])
    expected = [0.0] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        expected[i] = running
    assert stats.holm(p) == pytest.approx(expected)
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []


def test_null_excess_test_is_one_sample_t_on_excess():
    obs = np.array([0.8, 0.75, 0.9, 0.7])
    null = np.array([[0.6, 0.7], [0.65, 0.7], [0.7, 0.8], [0.6, 0.66]])
    r = stats.null_excess_test(obs, null)
    ref = st.ttest_1samp(obs - null.mean(axis=1), 0.0, alternative="greater")
    assert (r.statistic, r.p_value) == pytest.approx((ref.statistic, ref.pvalue))
    single = stats.null_excess_test([0.7], [[0.5, 0.6, 0.8]])
    assert single.p_value == pytest.approx((1 + 1) / (1 + 3))
    with pytest.raises(ValueError, match="shape"):
        stats.null_excess_test(obs, null[:2])


def test_linear_trend_and_slope_difference_against_scipy():
    rng = np.random.default_rng(3)
    x = np.repeat(np.linspace(0, 0.9, 10), 5)
    y = 0.2 * x + rng.normal(0, 0.05, x.size)
    t = stats.linear_trend(x, y)
    ref = st.linregress(x, y)
    assert (t.slope, t.stderr, t.p_value) == pytest.approx((ref.slope, ref.stderr, ref.pvalue))
    half = st.t.ppf(0.975, x.size - 2) * ref.stderr
    assert (t.ci_low, t.ci_high) == pytest.approx((ref.slope - half, ref.slope + half))
    u = stats.linear_trend(x, 0.05 * x + rng.normal(0, 0.05, x.size))
    d = stats.slope_difference_test(t, u)
    z = (t.slope - u.slope) / math.hypot(t.stderr, u.stderr)
    assert d.p_value == pytest.approx(2 * st.norm.sf(abs(z)))
    with pytest.raises(ValueError, match="distinct"):
        stats.linear_trend([1, 1, 1], [0, 1, 2])


# --------------------------------------------------------------------------- report / table writer


def test_markdown_table_and_number_format():
    assert markdown_table(["a"], [["x|y"]]).splitlines()[-1] == "| x\\|y |"
    with pytest.raises(ValueError, match="2 cells for 1 headers"):
        markdown_table(["a"], [[1, 2]])
    assert fmt(-0.0004) == "0.000" and fmt(-0.0006) == "-0.001"


def test_fmt_values_is_mean_and_sample_std_of_the_values():
    values = [0.91, 0.87, 0.95, 0.9]
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    assert fmt_values(values, 4) == f"{mean:.4f} ± {sd:.4f}"
    assert fmt_values(values, 2, scale=100) == f"{100 * mean:.2f} ± {100 * sd:.2f}"
    assert fmt_values([0.3]) == "0.300" and fmt_values([]) == "n/a"


def _run(task, init, scheme, amount, start, end, hidden=5, steps=10, null=None):
    setting = Setting(task, init, scheme, amount, hidden, 3, steps)
    return Run(setting, list(range(len(start))), list(start), list(end), null=null)


def _hand_made_runs(config):
    """Table 1 runs where every cell's values are chosen by hand."""
    runs = []
    for col in table1.columns(config):
        for init in paper.INIT_ROWS:
            if col.task == "untrained":
                # at-init column: values 0.672 +- 0.01 (paper's Default mean inside),
                start = [0.662, 0.672, 0.682] if init == "default" else [0.5, 0.5, 0.5]
                runs.append(_run(col.task, init, "none", None, start, start, col.hidden))
            else:
                runs.append(_run(col.task, init, "none", None, [0.6] * 3,
                                 [0.6 + paper.TABLE1_INIT[init][col.paper_column][0]] * 3,
                                 col.hidden))
        for scheme in paper.PRUNING_ROWS[1:]:
            amount = paper.SCHEMES[scheme][1]
            if scheme == "topk":  # change exactly 0.0395: the paper's 0.039 +- rounding
                delta = [0.0395] * 3
            elif scheme == "random":  # far away: 0.3 with spread
                delta = [0.29, 0.3, 0.31]
            else:
                delta = [paper.TABLE1_PRUNING[scheme][col.paper_column][0]] * 3
            start = [0.6, 0.62, 0.64]
            runs.append(_run(col.task, "default", scheme, amount, start,
                             [s + d for s, d in zip(start, delta, strict=True)], col.hidden,
                             null={"pattern": [[0.6, 0.62]] * 3, "all": [[0.5, 0.5]] * 3}))
    return runs


def test_table_inside_ci_logic_on_hand_made_numbers():
    config = Config.quick(seeds=3, sine_hidden=(8,))
    t = table1.build(_hand_made_runs(config), config)
    assert len(t.cells) == 9 * 3
    # exactly equal to the paper: zero-width interval, inside
    assert t.cell("init", "uniform", "xor").inside
    assert t.cell("pruning", "none", "untrained").inside
    # 0.0395 vs the paper's 0.039: outside a zero-width interval but within the rounding
    topk = t.cell("pruning", "topk", "untrained")
    assert (topk.summary.ci_low, topk.summary.ci_high) == pytest.approx((0.0395, 0.0395))
    assert topk.inside
    # 0.3 +- 0.01 vs the paper's 0.243: outside
    assert not t.cell("pruning", "random", "xor").inside
    # at init: the Default values bracket 0.672; Uniform's constant 0.5 excludes 0.647
    assert t.cell("init", "default", "untrained").inside
    assert not t.cell("init", "uniform", "untrained").inside
    # tests: reference rows and the at-init column are not tested; the rest are
    assert t.cell("pruning", "none", "xor").welch is None
    assert t.cell("init", "zeros", "untrained").welch is None
    welch = t.cell("pruning", "random", "xor").welch  # 0.3 +- 0.01 vs constant 0.032: dof = 2
    assert welch.statistic == pytest.approx(0.268 / (0.01 / math.sqrt(3)))
    assert welch.p_value == pytest.approx(2 * st.t.sf(welch.statistic, 2))
    assert all(c.holm_p >= c.welch.p_value for c in t.cells if c.welch is not None)
    # null model: end = start + 0.3 +- 0.01 with start 0.62 on average; null means 0.61 and 0.5
    random = t.cell("pruning", "random", "xor")
    assert random.null_mean == pytest.approx({"pattern": 0.61, "all": 0.5})
    assert random.null["pattern"].difference == pytest.approx(0.62 + 0.3 - 0.61)
    assert random.null["all"].difference == pytest.approx(0.62 + 0.3 - 0.5)
    assert t.cell("init", "uniform", "xor").null is None
    md = table1.markdown(t, config)
    assert "**0.300 ± 0.010** · paper 0.243 ± 0.082 · **no**" in md
    assert "**0.039 ± 0.000** · paper 0.039 ± 0.032 · yes" in md
    n_inside = sum(c.inside for c in t.cells)
    assert f"inside our 95 % interval in {n_inside} of 27 cells" in md


# --------------------------------------------------------------------------- pipeline, synthetic


def test_settings_cover_table1_without_duplicates():
    config = Config.full()
    s = table1.settings(config)
    assert len(s) == len(set(s)) == 4 * (3 + 5)  # untrained, XOR, Sine H=8, Sine H=10
    assert {x.hidden for x in s if x.task == "sine"} == {8, 10}
    assert {x.steps for x in s if x.task == "untrained"} == {10}
    f3 = figure3.settings(config)
    assert len(f3) == 3 * (5 * 9 + 1)  # s = 0 shared by the five schemes
    assert figure3.amount_for("topk", 0.9) == pytest.approx(0.1)
    assert len(figure2.settings(config)) == 2 * 4 * 10


def test_json_round_trip_remakes_identical_tables(tmp_path):
    out = tmp_path / "a"
    argv = ["--quick", "--out", str(out), "--no-progress", "--seeds", "3", "--figure-seeds", "2"]
    assert main(argv, trainer=fake_trainer) == 0
    for name in ("table1.md", "table1.png", "figure2.png", "figure3.png", "appendix_d.png",
                 "figure2.md", "figure3.md", "appendix_d.md", "index.md", "results.json"):
        assert (out / name).is_file(), name
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["seeds"] == 3 and data["format"] == "paper_repro/1"
    runs, settings, timings = load_results(out / "results.json")
    assert set(timings) >= {"table1", "figure2", "figure3", "appendix_d"}
    assert Config.from_dict(settings) == Config.quick(seeds=3, figure2_seeds=2, figure3_seeds=2,
                                                      appendix_d_seeds=2)
    remade = tmp_path / "b"
    assert main(["--from-json", str(out / "results.json"), "--out", str(remade)]) == 0
    for name in ("table1.md", "figure2.md", "figure3.md", "appendix_d.md"):
        assert (remade / name).read_text() == (out / name).read_text(), name
    # the runs themselves survive the round trip
    again = tmp_path / "c.json"
    save_results(again, runs, settings)
    assert load_results(again)[0] == runs


def test_render_rejects_incomplete_runs(tmp_path):
    config = Config.quick(seeds=2)
    runs = run_part("table1", config, trainer=fake_trainer)[:-1]
    with pytest.raises(KeyError, match="no run"):
        render({"table1": runs}, config, tmp_path)


def test_load_results_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a paper_repro results file"):
        load_results(path)


def test_config_validation():
    with pytest.raises(ValueError, match="seeds must be an int >= 2"):
        Config.quick(seeds=1)
    with pytest.raises(ValueError, match="parts"):
        Config.quick(parts=("table2",))
    with pytest.raises(ValueError, match="amount must be None"):
        Setting("xor", "default", "topk", None, 5, 3, 10)
    with pytest.raises(ValueError, match="random_mask must be one of"):
        Config.quick(random_mask="one")
    with pytest.raises(ValueError, match="needs scheme='random'"):
        Setting("xor", "default", "topk", 0.5, 5, 3, 10, random_mask="shared")
    with pytest.raises(ValueError, match="part must be one of"):
        Config.quick().seeds_for("table2")


def test_each_part_trains_its_settings_with_its_own_seeds():
    config = Config.quick(seeds=3, figure2_seeds=2, figure3_seeds=4, appendix_d_seeds=2,
                          base_seed=100)
    calls = []

    def trainer(setting, seeds):
        calls.append((setting, list(seeds)))
        return fake_trainer(setting, seeds)

    for part, module, n in (("table1", table1, 3), ("figure2", figure2, 2),
                            ("figure3", figure3, 4), ("appendix_d", appendix_d, 2)):
        calls.clear()
        runs = run_part(part, config, trainer=trainer)
        assert [s for s, _ in calls] == module.settings(config) == [r.setting for r in runs]
        assert all(seeds == list(range(100, 100 + n)) for _, seeds in calls)


def test_shared_random_mask_reaches_table1_random_settings_only():
    config = Config.quick(random_mask="shared")
    masks = {(s.scheme, s.random_mask) for s in table1.settings(config)}
    assert ("random", "shared") in masks and ("random", "per_seed") not in masks
    assert all(m == "per_seed" for scheme, m in masks if scheme != "random")
    label = next(s.label for s in table1.settings(config) if s.scheme == "random")
    assert "shared mask" in label
    assert "Random (p=0.5): one mask shared by all seeds" in table1.markdown(
        table1.build(run_part("table1", Config.quick(seeds=2, random_mask="shared"),
                              trainer=fake_trainer), Config.quick(seeds=2,
                                                                  random_mask="shared")),
        Config.quick(seeds=2, random_mask="shared"))


def test_paper_repro_modules_import_each_other_without_a_cycle():
    """An import graph of paper_repro's modules (module-level imports only) is acyclic."""
    import ast
    from pathlib import Path

    import paper_repro

    root = Path(paper_repro.__file__).parent
    graph = {}
    for path in root.glob("*.py"):
        name = path.stem
        deps = set()
        for node in ast.parse(path.read_text()).body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "paper_repro":
                    deps |= {a.name for a in node.names if (root / f"{a.name}.py").exists()}
                    if name != "__init__":
                        deps.add("__init__")
                elif node.module.startswith("paper_repro."):
                    deps.add(node.module.split(".")[1])
        graph[name] = deps - {name}
    # the package's __init__ is imported before any submodule: leave it out of the cycle check
    graph = {k: v - {"__init__"} for k, v in graph.items() if k != "__init__"}
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join(path + [node])}"
        state[node] = "open"
        for dep in graph.get(node, ()):
            visit(dep, path + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])
    assert "_adapter" in graph["parts"] and "runner" in graph["_adapter"]
    assert not graph["runner"] & {"_adapter", "parts"}


def test_no_file_of_paper_repro_cites_a_path_of_this_machine():
    from pathlib import Path

    import paper_repro

    root = Path(paper_repro.__file__).parent
    files = [p for p in [*root.rglob("*.py"), *root.rglob("*.md")]
             if "results" not in p.relative_to(root).parts]  # outputs are the user's
    assert root / "PAPER_NOTES.md" in files and root / "data" / "README.md" in files
    for path in files:
        text = path.read_text()
        for bad in ("/work/", "../shared", "shared/paper"):
            assert bad not in text, f"{path.name} cites {bad}"


# --------------------------------------------------------------------------- real runs, small


def _tiny(**changes):
    """A config whose runs take well under a second each: 3 seeds, few steps."""
    base = dict(seeds=3, xor_steps=20, sine_steps=30, null_samples=0, sine_hidden=(4,),
                figure2_hidden=(1, 3), figure2_iterations=(1, 2), figure2_seeds=2,
                figure3_sparsities=(0.0, 0.5), figure3_seeds=2, appendix_d_seeds=2)
    return Config.quick(**{**base, **changes})


def test_untrained_none_is_exactly_zero_and_settings_share_their_start(one_thread):
    config = _tiny()
    runs = run_part("table1", config)
    untrained = [r for r in runs if r.setting.task == "untrained"]
    none = next(r for r in untrained if r.setting.scheme == "none" and r.setting.init == "default")
    assert none.change == [0.0, 0.0, 0.0]
    # every default-init setting of a column starts from the same weights (common seeds)
    for r in untrained:
        if r.setting.init in ("default", "zeros"):  # "zeros" only changes the initial state
            assert r.start == none.start
    by_scheme = {r.setting.scheme: r for r in untrained if r.setting.init == "default"}
    # Top-K k=0.5 on the (6, 8) weight keeps floor(0.5 * 48) = 24 entries
    assert by_scheme["topk"].sparsity == [0.5] * 3
    # ten Tril-damp steps scale the lower triangle by 0.2**10: practically ordered
    assert all(e > 1 - 1e-5 for e in by_scheme["tril"].end)
    assert all(c > 0 for c in by_scheme["tril"].change)
    t = table1.build(runs, config)
    cell = t.cell("pruning", "none", "untrained")
    assert (cell.summary.mean, cell.summary.std, cell.inside) == (0.0, 0.0, True)


def test_untrained_orderedness_of_normal_weights_near_068(one_thread):
    from paper_repro import train_setting

    seeds = list(range(1000, 1300))
    r = train_setting(Setting("untrained", "default", "none", None, 5, 3, 1), seeds)
    s = stats.summarize(r.start)
    # paper_repro/PAPER_NOTES.md: mean about 0.68, std about 0.05 for O=1, H=5 with N(0,1) entries
    assert abs(s.mean - 0.68) < 0.015
    assert 0.03 < s.std < 0.07
    assert all(0.5 < v <= 1.0 for v in r.start)


def test_real_null_model_cells(one_thread):
    config = _tiny(null_samples=4, sine_hidden=(3,), parts=("table1",))
    runs = [r for r in run_part("table1", config) if r.setting.task == "untrained"]
    tril = next(r for r in runs if r.setting.scheme == "tril")
    assert set(tril.null) == {"pattern", "all"}
    assert all(len(d) == 4 for d in tril.null["pattern"])
    # a damped weight is ordered (end ~ 1); its shuffled copies are not
    assert all(max(d) < e for d, e in zip(tril.null["all"], tril.end, strict=True))
    none = next(r for r in runs if r.setting.scheme == "none" and r.setting.init == "default")
    # no zeros in an N(0,1) weight: both shuffles move every off-diagonal entry
    assert none.null["pattern"] == none.null["all"]


def test_small_real_figures_and_appendix_d(one_thread, tmp_path):
    config = _tiny()
    runs = {part: run_part(part, config) for part in ("figure2", "figure3", "appendix_d")}
    grids = figure2.build(runs["figure2"], config)
    assert grids["xor"].mean.shape == (2, 2) and np.isfinite(grids["sine"].std).all()
    curves = figure3.build(runs["figure3"], config)
    # s = 0 is the unpruned run, shared by all five schemes
    zero = {c.mean[0] for c in curves["xor"].values()}
    assert len(zero) == 1
    assert curves["untrained"]["topk"].measured_sparsity[1] == 0.5
    d = appendix_d.build(runs["appendix_d"], config)
    assert d["xor"]["complete"].curves.shape == (2, 20)
    assert d["sine"]["mlp"].curves.shape[1] <= 30
    assert all(r.end == [1.0, 1.0] for r in runs["appendix_d"] if r.setting.model == "mlp")
    paths = render(runs, config, tmp_path)
    assert {p.name for p in paths} >= {"figure2.png", "figure3.png", "appendix_d.png"}


def test_spike_count_test_binomial_tail():
    from paper_repro.figure2 import Grid, spike_count_test

    mean = np.array([[0.0, 0.3, 0.1], [0.0, 0.2, 0.1], [0.5, 0.2, 0.1]])
    grid = Grid("xor", (1, 3, 5), (1, 2, 3), mean, mean * 0, {})
    wins, p = spike_count_test(grid)
    # 2 wins of 3 rows with chance 1/3 each: P(X >= 2) = 3 (1/3)^2 (2/3) + (1/3)^3
    assert wins == 2
    assert p == pytest.approx(3 * (1 / 3) ** 2 * (2 / 3) + (1 / 3) ** 3)


def test_welch_from_stats_matches_scipy_and_sample_version():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.1, 0.05, 12), rng.normal(0.05, 0.02, 10)
    r = stats.welch_from_stats(a.mean(), a.std(ddof=1), 12, b.mean(), b.std(ddof=1), 10)
    ref = st.ttest_ind_from_stats(a.mean(), a.std(ddof=1), 12, b.mean(), b.std(ddof=1), 10,
                                  equal_var=False)
    assert (r.statistic, r.p_value) == pytest.approx((ref.statistic, ref.pvalue))
    assert r.p_value == pytest.approx(stats.welch_test(a, b).p_value)
    assert stats.welch_from_stats(0.0, 0.0, 10, 0.0, 0.0, 10).p_value == 1.0
    with pytest.raises(ValueError, match="n2 must be an int >= 2"):
        stats.welch_from_stats(0.0, 0.1, 10, 0.0, 0.1, 1)


@pytest.mark.parametrize("name", ["paper_numbers", "stats", "report", "runner", "config",
                                  "table1", "figure2", "figure3", "appendix_d", "testing",
                                  "parts", "_adapter", "reference", "random_row"])
def test_docstring_examples_run(name):
    """paper_repro is outside pytest's doctest paths; its examples are checked here."""
    import doctest
    import importlib

    module = importlib.import_module(f"paper_repro.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_cli_rejects_bad_values_without_training(tmp_path, capsys):
    def trainer(*args):  # must never be called
        raise AssertionError("trained despite bad arguments")

    assert main(["--seeds", "1", "--out", str(tmp_path)], trainer=trainer) == 2
    assert "seeds must be an int >= 2" in capsys.readouterr().err
    assert main(["--threads", "0", "--out", str(tmp_path)], trainer=trainer) == 2
    assert not any(tmp_path.iterdir())


def test_demo_prints_loss_sparsity_and_orderedness(one_thread, capsys):
    from paper_repro import demo

    assert demo.main(["--steps", "20", "--scheme", "topk"]) == 0
    out = capsys.readouterr().out
    assert "pruning: Top-K (k=0.5)" in out
    rows = [line.split() for line in out.splitlines() if line.strip().split(" ")[0].isdigit()]
    assert [r[0] for r in rows] == ["0"] + [str(k) for k in range(2, 21, 2)]
    assert all(float(r[2]) == 0.5 for r in rows[1:])  # Top-K keeps 24 of 48 after every step
    assert all(0.0 < float(r[3]) <= 1.0 for r in rows)
