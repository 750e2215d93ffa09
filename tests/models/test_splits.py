"""Split logic: no score is ever computed on a row the scoring model was trained on."""

from __future__ import annotations

import numpy as np
import pytest

from immunome.errors import ModelError
from immunome.models import (
    Split,
    check_splits,
    cross_predict,
    evaluate_candidates,
    kfold_splits,
    loso_splits,
)
from immunome.models._immune_age import conformal_oof


class _Spy:
    """Remembers its training rows (column 0 holds the row id) and predicts -1 if asked about one."""

    fits: list[set[int]] = []

    def fit(self, X, y):
        self.seen = set(X[:, 0].astype(int).tolist())
        _Spy.fits.append(self.seen)
        return self

    def predict(self, X):
        return np.array([-1.0 if int(r) in self.seen else 1.0 for r in X[:, 0]])


def _rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n, dtype=float)[:, None], np.linspace(20, 80, n)


@pytest.mark.parametrize("kind", ["loso", "kfold"])
def test_cross_predict_never_scores_training_rows(kind):
    X, y = _rows(60)
    groups = np.repeat(["a", "b", "c", "d"], 15)
    splits = loso_splits(groups) if kind == "loso" else kfold_splits(y, n_splits=5)
    pred, fold = cross_predict(_Spy, X, y, splits)
    assert (pred == 1.0).all()  # every scored row was unseen by the model that scored it
    assert (fold >= 0).all()


def test_loso_holds_out_exactly_one_site():
    groups = np.array(["a", "b", "a", "c", "b", "c"])
    for s in loso_splits(groups):
        assert set(groups[s.test]) == {s.name}
        assert s.name not in set(groups[s.train])


def test_kfold_is_a_partition():
    _, y = _rows(53)
    splits = kfold_splits(y, n_splits=5)
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested.tolist()) == list(range(53))


def test_leaky_split_is_refused():
    bad = [Split("leaky", np.array([0, 1, 2]), np.array([2, 3]))]
    with pytest.raises(ModelError, match="leaks 1 training rows"):
        check_splits(bad, 4)
    with pytest.raises(ModelError, match="more than one split"):
        check_splits(
            [Split("a", np.array([0]), np.array([1])), Split("b", np.array([0]), np.array([1]))], 2
        )


def test_conformal_calibration_uses_training_rows_only(monkeypatch):
    """The inner calibration residuals of each outer split come only from that split's training rows."""
    X, y = _rows(60)
    groups = np.repeat(["a", "b", "c", "d"], 15)
    _Spy.fits = []
    import immunome.models._immune_age as ia

    monkeypatch.setattr(ia, "_maker", lambda spec: _Spy)
    splits = loso_splits(groups)
    conformal_oof({"kind": "spy"}, X, y, groups, splits)
    # inner LOSO fits + 1 outer fit per split, in order: none may contain that split's test rows
    per = len(_Spy.fits) // len(splits)
    for k, s in enumerate(splits):
        for seen in _Spy.fits[k * per : (k + 1) * per]:
            assert not seen & set(s.test.tolist())


def test_evaluate_candidates_scores_out_of_fold(make_cohort, features):
    df = make_cohort(60)
    res = evaluate_candidates(
        df[features],
        df["age"].to_numpy(),
        groups=df["site"].to_numpy(),
        candidates={"ridge": {"kind": "ridge"}},
    )
    # a model that could see its test rows would fit the synthetic data almost perfectly
    assert res["loso"]["ridge"]["n"] == 60
    assert res["loso"]["training_mean"]["mae"] > res["loso"]["ridge"]["mae"]
