"""Cross-validation splits and out-of-fold prediction that can never score a training row.

Example:
    >>> import numpy as np
    >>> splits = loso_splits(np.array(["a", "a", "b", "c"]))
    >>> [(s.name, s.test.tolist()) for s in splits]
    [('a', [0, 1]), ('b', [2]), ('c', [3])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from immunome.errors import ModelError


@dataclass(frozen=True)
class Split:
    """One fold: integer row positions of the training and the test rows."""

    name: str
    train: np.ndarray
    test: np.ndarray


def loso_splits(groups: Sequence[str] | np.ndarray) -> list[Split]:
    """Leave-one-group-out (site) splits, one per distinct group, in sorted order."""
    g = np.asarray(groups, dtype=object)
    idx = np.arange(len(g))
    return [Split(str(s), idx[g != s], idx[g == s]) for s in sorted(set(g.tolist()))]


def kfold_splits(
    y: np.ndarray, *, n_splits: int = 5, seed: int = 0, stratify: bool = True
) -> list[Split]:
    """K-fold splits, stratified on quantile bins of a continuous ``y`` (or its classes)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    idx = np.arange(len(y))
    if stratify:
        n_bins = max(2, min(10, len(y) // (2 * n_splits)))
        bins = np.searchsorted(np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1]), y, side="right")
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(idx, bins)
    else:
        folds = KFold(n_splits, shuffle=True, random_state=seed).split(idx)
    return [Split(f"fold{i + 1}", tr, te) for i, (tr, te) in enumerate(folds)]


def group_kfold_splits(groups: np.ndarray, *, n_splits: int = 4) -> list[Split]:
    """Group k-fold (whole sites held out together); falls back to LOSO when there are few groups."""
    from sklearn.model_selection import GroupKFold

    g = np.asarray(groups, dtype=object)
    k = min(n_splits, len(set(g.tolist())))
    if k < 2:
        raise ModelError(f"need at least 2 groups for group cross-validation, got {k}")
    idx = np.arange(len(g))
    return [
        Split(f"gfold{i + 1}", tr, te)
        for i, (tr, te) in enumerate(GroupKFold(k).split(idx, groups=g))
    ]


def check_splits(splits: Sequence[Split], n_rows: int) -> None:
    """Raise :class:`ModelError` if any split tests a row it trained on, or a row is tested twice."""
    seen = np.zeros(n_rows, dtype=int)
    for s in splits:
        overlap = np.intersect1d(s.train, s.test)
        if overlap.size:
            raise ModelError(
                f"split {s.name!r} leaks {overlap.size} training rows into its test set (rows {overlap[:5].tolist()})"
            )
        seen[s.test] += 1
    if (seen > 1).any():
        raise ModelError(
            f"rows {np.where(seen > 1)[0][:5].tolist()} are scored by more than one split"
        )


def cross_predict(
    make: Callable[[], object], X: np.ndarray, y: np.ndarray, splits: Sequence[Split]
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions: each row predicted only by a model that never saw it.

    Returns ``(pred, fold)`` — ``fold[i]`` is the index of the split that scored row ``i``
    (``-1`` and NaN prediction for rows no split tests).
    """
    check_splits(splits, len(y))
    pred = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    for k, s in enumerate(splits):
        model = make().fit(X[s.train], y[s.train])
        pred[s.test] = model.predict(X[s.test])
        fold[s.test] = k
    return pred, fold
