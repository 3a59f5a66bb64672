"""Drift: profiles stay small, the right test is chosen, and its statistic equals scipy's on the same arrays."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from ml_action.core.drift import DriftResult, compare_profiles
from ml_action.core.leakage import leakage_warnings
from ml_action.core.profile import profile_frame
from ml_action.core.stattests import choose_test, wasserstein_norm


def frame(n: int, seed: int, shift: float = 0.0, p_cat: tuple[float, ...] = (0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(loc=shift, size=n),
            "z": rng.exponential(size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n, p=list(p_cat)),
            "flag": rng.random(size=n) < 0.3,
            "y": rng.integers(0, 2, size=n),
        }
    )


def column(result: DriftResult, name: str):
    return next(c for c in result.columns if c.column == name)


@pytest.mark.parametrize(("ref_rows", "test", "threshold"), [(800, "ks", 0.05), (20_000, "wasserstein", 0.1)])
def test_same_distribution_does_not_drift(ref_rows: int, test: str, threshold: float) -> None:
    ref = profile_frame(frame(ref_rows, seed=1), "y", seed=0)
    result = compare_profiles(ref, frame(ref_rows, seed=2), "y")
    assert column(result, "x").test == test
    assert column(result, "x").threshold == threshold
    assert result.drifted_columns == []
    assert not result.dataset_drift
    assert result.label is not None and not result.label.drifted


@pytest.mark.parametrize("ref_rows", [800, 20_000])
def test_shifted_mean_drifts(ref_rows: int) -> None:
    ref = profile_frame(frame(ref_rows, seed=1), "y", seed=0)
    result = compare_profiles(ref, frame(ref_rows, seed=2, shift=0.5), "y")
    x = column(result, "x")
    assert x.drifted
    if ref_rows <= 1000:
        assert x.test == "ks" and x.p_value is not None and x.p_value < 0.05
    else:
        assert x.test == "wasserstein" and x.statistic is not None and x.statistic >= 0.1
    assert result.drifted_columns == ["x"]
    assert result.share == pytest.approx(1 / 4)
    assert result.top_drifted(1)[0].column == "x"


def test_small_reference_ks_equals_scipy_on_raw_arrays() -> None:
    ref_df, cur_df = frame(700, seed=3), frame(900, seed=4, shift=0.2)
    result = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y")
    expected = stats.ks_2samp(ref_df["x"].to_numpy(), cur_df["x"].to_numpy())
    x = column(result, "x")
    assert x.statistic == expected.statistic
    assert x.p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_large_reference_wasserstein_equals_scipy_on_the_stored_sample() -> None:
    ref_df, cur_df = frame(20_000, seed=3), frame(5_000, seed=4, shift=0.3)
    ref = profile_frame(ref_df, "y", seed=0)
    x = column(compare_profiles(ref, cur_df, "y"), "x")
    sample = np.asarray(ref["columns"]["x"]["sample"])
    std = ref_df["x"].to_numpy().std()
    assert x.statistic == pytest.approx(stats.wasserstein_distance(sample, cur_df["x"].to_numpy()) / std, rel=1e-9)
    # the 4-significant-digit sample barely moves the distance computed on the full reference
    full = stats.wasserstein_distance(ref_df["x"].to_numpy(), cur_df["x"].to_numpy()) / std
    assert x.statistic == pytest.approx(full, abs=0.03)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wasserstein_norm_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=300), rng.standard_t(3, size=1000)
    assert wasserstein_norm(u, v, 2.0) == pytest.approx(stats.wasserstein_distance(u, v) / 2.0, rel=1e-12)
    assert wasserstein_norm(u, v, 0.0) == pytest.approx(stats.wasserstein_distance(u, v) / 0.001, rel=1e-12)


def test_new_category_small_reference_uses_chisquare_like_evidently() -> None:
    ref_df = frame(600, seed=5)
    cur_df = frame(600, seed=6)
    cur_df.loc[:59, "city"] = "brest"
    result = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y")
    city = column(result, "city")
    assert city.test == "chisquare" and city.drifted
    assert result.new_categories["city"] == {"count": 1, "rows": 60, "examples": ["brest"]}
    keys = ["paris", "lyon", "nice", "brest"]
    ref_counts = ref_df["city"].value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    cur_counts = cur_df["city"].value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        expected = stats.chisquare(cur_counts, ref_counts * cur_counts.sum() / ref_counts.sum())
    assert city.p_value == expected.pvalue == 0.0


def test_category_proportions_chisquare_equals_scipy() -> None:
    ref_df = frame(900, seed=7)
    cur_df = frame(900, seed=8, p_cat=(0.3, 0.4, 0.3))
    city = column(compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y"), "city")
    keys = ["paris", "lyon", "nice"]
    ref_counts = ref_df["city"].value_counts().reindex(keys).to_numpy(dtype=float)
    cur_counts = cur_df["city"].value_counts().reindex(keys).to_numpy(dtype=float)
    expected = stats.chisquare(cur_counts, ref_counts * cur_counts.sum() / ref_counts.sum())
    assert city.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert city.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert city.drifted


def test_new_category_large_reference_uses_jensenshannon() -> None:
    ref_df = frame(5000, seed=5)
    cur_df = frame(5000, seed=6)
    cur_df.loc[:1999, "city"] = "brest"
    result = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y")
    city = column(result, "city")
    keys = ["paris", "lyon", "nice", "brest"]
    p = ref_df["city"].value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    q = cur_df["city"].value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    assert city.test == "jensenshannon"
    assert city.statistic == pytest.approx(distance.jensenshannon(p / p.sum(), q / q.sum()), rel=1e-12)
    assert city.drifted
    assert result.new_categories["city"]["rows"] == 2000


def test_binary_column_uses_z_test_small_and_js_large() -> None:
    small = compare_profiles(profile_frame(frame(500, seed=1), "y", seed=0), frame(500, seed=2), "y")
    large = compare_profiles(profile_frame(frame(5000, seed=1), "y", seed=0), frame(5000, seed=2), "y")
    assert column(small, "flag").test == "z" and not column(small, "flag").drifted
    assert column(large, "flag").test == "jensenshannon" and not column(large, "flag").drifted


@pytest.mark.parametrize(
    ("kind", "ref_count", "n_values", "test"),
    [
        ("numeric", 1000, 6, "ks"),
        ("numeric", 1000, 5, "chisquare"),
        ("numeric", 1000, 2, "z"),
        ("categorical", 10, 3, "chisquare"),
        ("categorical", 10, 2, "z"),
        ("numeric", 1001, 6, "wasserstein"),
        ("numeric", 1001, 5, "jensenshannon"),
        ("categorical", 1001, 2, "jensenshannon"),
    ],
)
def test_choose_test_follows_evidently(kind: str, ref_count: int, n_values: int, test: str) -> None:
    assert choose_test(kind, ref_count, n_values) == test


def test_removed_added_and_retyped_columns_are_schema_changes() -> None:
    ref = profile_frame(frame(1000, seed=1), "y", seed=0)
    cur = frame(1000, seed=2).drop(columns=["z"]).assign(extra=1.0, flag=lambda d: d["flag"].map(str))
    result = compare_profiles(ref, cur, "y")
    assert result.removed == ["z"] and result.added == ["extra"]
    assert result.kind_changed == [{"column": "flag", "reference": "boolean", "current": "categorical"}]
    assert result.schema_changed
    assert result.missing_features(["x", "z", "city"]) == ["z"]
    assert {c.column for c in result.columns} == {"x", "city"}
    assert result.to_dict()["schema"]["removed"] == ["z"]


def test_null_rate_change_over_five_points() -> None:
    ref_df, cur_df = frame(2000, seed=1), frame(2000, seed=2)
    cur_df.loc[:199, "x"] = np.nan  # +10 points
    cur_df.loc[:59, "z"] = np.nan  # +3 points: below the bar
    result = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y")
    assert [c["column"] for c in result.null_changes] == ["x"]
    assert result.null_changes[0]["change"] == pytest.approx(0.1)


@pytest.mark.parametrize("ref_rows", [600, 6000])
def test_label_shift(ref_rows: int) -> None:
    ref_df, cur_df = frame(ref_rows, seed=1), frame(ref_rows, seed=2)
    cur_df["y"] = (np.random.default_rng(3).random(ref_rows) < 0.8).astype(int)
    result = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y")
    assert result.label is not None and result.label.drifted
    assert result.label.test == ("z" if ref_rows <= 1000 else "jensenshannon")
    assert "y" not in {c.column for c in result.columns}


def test_regression_label_shift_uses_numeric_test() -> None:
    ref_df, cur_df = frame(3000, seed=1), frame(3000, seed=2)
    ref_df["y"], cur_df["y"] = ref_df["x"] * 3.0, cur_df["z"] * 3.0 + 2
    ref = profile_frame(ref_df, "y", seed=0)
    assert ref["label"]["task"] == "regression"
    result = compare_profiles(ref, cur_df, "y")
    assert result.label is not None and result.label.test == "wasserstein" and result.label.drifted


def test_compare_with_a_stored_current_profile() -> None:
    ref = profile_frame(frame(5000, seed=1), "y", seed=0)
    cur = profile_frame(frame(5000, seed=2, shift=1.0), "y", seed=0)
    result = compare_profiles(ref, cur, "y")
    assert result.drifted_columns == ["x"]


def test_profile_is_deterministic_and_json_serializable() -> None:
    df = frame(8000, seed=1)
    a, b = profile_frame(df, "y", seed=7), profile_frame(df, "y", seed=7)
    assert json.dumps(a) == json.dumps(b)
    assert json.loads(json.dumps(a)) == a
    x = a["columns"]["x"]
    assert len(x["quantiles"]) == 101 and x["min"] == x["quantiles"][0] and x["max"] == x["quantiles"][-1]
    assert x["std"] == pytest.approx(df["x"].std(ddof=0))
    assert a["columns"]["city"]["counts"] == df["city"].value_counts().to_dict()
    assert a["label"] == {
        "task": "classification",
        "counts": {"0": int((df.y == 0).sum()), "1": int((df.y == 1).sum())},
        "other": 0,
    }


def test_profile_size_is_bounded_at_200k_rows_by_20_columns() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    data = {f"num{i}": rng.normal(scale=10 ** (i % 5), size=n) for i in range(16)}
    data["ids"] = rng.integers(0, 10**9, size=n).astype(str)  # high-cardinality categorical
    data["cat"] = rng.choice([f"c{i}" for i in range(300)], size=n)
    data["flag"] = rng.random(n) < 0.5
    data["y"] = rng.integers(0, 3, size=n)
    profile = profile_frame(pd.DataFrame(data), "y", seed=0)
    size = len(json.dumps(profile))
    assert size < 600_000, size
    ids = profile["columns"]["ids"]
    assert 0 < len(ids["counts"]) <= 2000 and min(ids["counts"].values()) >= 2  # ids seen once are not named
    assert ids["other"] == n - sum(ids["counts"].values()) == sum(ids["tail"]) and len(ids["tail"]) == 1024
    assert len(profile["columns"]["cat"]["counts"]) == 300 and "tail" not in profile["columns"]["cat"]
    assert all(len(c.get("sample", [])) <= 5000 for c in profile["columns"].values())


def test_datetime_columns_are_profiled_not_tested() -> None:
    df = frame(100, seed=1).assign(when=pd.date_range("2024-01-01", periods=100, freq="D"))
    ref = profile_frame(df, "y", seed=0)
    assert ref["columns"]["when"]["kind"] == "datetime" and ref["columns"]["when"]["min"].startswith("2024-01-01")
    assert "when" not in {c.column for c in compare_profiles(ref, df, "y").columns}


def test_to_dict_is_json_safe_and_carries_the_verdict() -> None:
    ref_df, cur_df = frame(600, seed=5), frame(600, seed=6, shift=1.0)
    cur_df.loc[:59, "city"] = "brest"  # chi-square statistic is infinite
    d = compare_profiles(profile_frame(ref_df, "y", seed=0), cur_df, "y", drift_share=0.5).to_dict()
    json.dumps(d, allow_nan=False)
    assert sorted(d["drifted_columns"]) == ["city", "x"] and d["dataset_drift"] and d["share"] == 0.5
    assert d["columns"][0]["drifted"] and set(d["tests"]) >= {"ks", "chisquare"}


# ------------------------------------------------------------------------------------------ leakage


def test_duplicates_between_train_and_holdout_are_reported() -> None:
    df = frame(1000, seed=1)
    warnings = leakage_warnings(df.iloc[:800], pd.concat([df.iloc[800:], df.iloc[:50]]), "y", "classification", 0)
    assert any("50 holdout rows (20.0%)" in w for w in warnings)


def test_no_warnings_on_clean_data() -> None:
    df = frame(2000, seed=1)
    assert leakage_warnings(df.iloc[:1500], df.iloc[1500:], "y", "classification", 0) == []


def _binned_by_quantiles(x: np.ndarray, y: np.ndarray, bins: int = 1024) -> float:
    """The screen's definition, written plainly: interpolated quantile edges, a binary search per row."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    cells = np.searchsorted(edges, x, side="right")
    return sum(np.bincount(y[cells == c]).max() for c in np.unique(cells)) / x.size


@pytest.mark.parametrize("kind", ["continuous", "few values", "separable", "three classes"])
@pytest.mark.parametrize("n", [15, 1000, 20_000])
def test_the_leak_screen_matches_its_definition(kind: str, n: int) -> None:
    """The one-sort screen gives exactly the plainly written screen's accuracy, and the
    point-biserial r is scipy's, including NaN for a constant label."""
    from ml_action.core.leakage import _binned_accuracy, _pearson

    rng = np.random.default_rng(n)
    x = rng.integers(0, 4, n).astype(float) if kind == "few values" else rng.normal(size=n)
    y = (x > 0.3).astype(np.int64) if kind == "separable" else rng.integers(0, 3 if kind == "three classes" else 2, n)
    assert _binned_accuracy(x, y) == pytest.approx(_binned_by_quantiles(x, y), abs=1e-12)
    assert _pearson(x, y.astype(float)) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert np.isnan(_pearson(x, np.ones(n)))


@pytest.mark.parametrize(
    ("make", "task", "phrase"),
    [
        (lambda d, r: d["y"] * 5 + r.normal(scale=0.01, size=len(d)), "classification", "point-biserial"),
        (
            lambda d, r: np.where(d["y"] == 1, r.uniform(0, 1, len(d)), r.uniform(2, 3, len(d))),
            "classification",
            "tree",
        ),
        (lambda d, r: d["y"].map({0: "no", 1: "yes"}), "classification", "one label"),
        (lambda d, r: d["y"] ** 3 + 1, "regression", "Spearman"),
    ],
)
def test_single_feature_leak(make, task: str, phrase: str) -> None:
    rng = np.random.default_rng(0)
    df = frame(4000, seed=1)
    if task == "regression":
        df["y"] = rng.normal(size=len(df))
    df["leak"] = make(df, rng)
    warnings = leakage_warnings(df.iloc[:3000], df.iloc[3000:], "y", task, 0)
    assert len(warnings) == 1 and "'leak'" in warnings[0] and phrase in warnings[0]


def test_identifier_column_is_not_a_leak_and_imbalanced_label_is_not_trivial() -> None:
    df = frame(3000, seed=1).assign(row_id=lambda d: [f"r{i}" for i in range(len(d))])
    df["y"] = (np.arange(len(df)) % 200 == 0).astype(int)  # 0.5 % positives
    df["const"] = 1.0
    assert leakage_warnings(df.iloc[:2000], df.iloc[2000:], "y", "classification", 0) == []


# ------------------------------------------------------------------------------------------ template


def render_data_section(**context) -> str:
    """The data section as the report renders it (the report's Jinja environment, with its escaping filters)."""
    from ml_action.report.markdown import render

    return render("data.md.j2", **{"leakage": [], **context})


def test_data_template_shows_every_finding() -> None:
    ref = profile_frame(frame(5000, seed=1).assign(w=1.5), "y", seed=0)
    cur = frame(3000, seed=2, shift=0.5).assign(extra=1)
    cur.loc[:99, "city"] = "brest"
    cur.loc[:400, "z"] = np.nan
    text = render_data_section(drift=compare_profiles(ref, cur, "y").to_dict(), leakage=["12 rows duplicated"])
    assert text.startswith("<details open><summary>⚠️ Data: 2 of 4 columns drifted (50 %), <b>dataset drift</b>")
    for expected in [
        "- removed: `w`",
        "- added: `extra`",
        "| `z` | 0.0 % | 13.4 % | +13.4 pts |",
        "- `city`: 1 new (100 rows): `brest`",
        "**Label `y`**: no significant shift",
        "| `x` | numeric | Wasserstein distance (normed) |",
        "xychart-beta",
        "- ⚠️ 12 rows duplicated",
    ]:
        assert expected in text
    assert "\n\n\n" not in text


def test_data_template_quiet_when_nothing_changed() -> None:
    ref = profile_frame(frame(800, seed=1), None, seed=0)
    text = render_data_section(drift=compare_profiles(ref, frame(800, seed=2), None).to_dict())
    assert text.startswith(
        "<details><summary>✅ Data: 0 of 5 columns drifted (0 %) · schema unchanged · label not compared</summary>"
    )
    assert "Kolmogorov-Smirnov p-value" in text and "Schema" not in text and "\n\n\n" not in text


def test_non_string_column_names() -> None:
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 3)))
    result = compare_profiles(profile_frame(df, None, seed=0), df, None)
    assert [c.column for c in result.columns] == ["0", "1", "2"] and result.drifted_columns == []


def test_duplicate_rows_with_unhashable_cells_are_still_found() -> None:
    frame = pd.DataFrame({"a": range(50), "tags": [[1, 2]] * 50, "y": ["x", "z"] * 25})
    warnings = leakage_warnings(frame[:40], pd.concat([frame[40:], frame[:3]]), "y", "classification", 0)
    assert any("3 holdout rows" in w for w in warnings)


def test_duplicate_count_is_isin() -> None:
    from ml_action.core.leakage import _present

    rng = np.random.default_rng(5)
    for _ in range(200):
        haystack = rng.integers(0, 60, int(rng.integers(1, 300))).astype("uint64")
        needles = rng.integers(0, 60, int(rng.integers(0, 300))).astype("uint64")
        assert _present(needles, haystack) == int(np.isin(needles, haystack).sum())
    top = np.array([np.iinfo(np.uint64).max], dtype="uint64")  # the largest hash, past every other
    assert _present(top, np.array([1, 2], dtype="uint64")) == 0 and _present(top, top) == 1
