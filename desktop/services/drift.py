"""Library drift: are the passages the last indexing run added unlike the ones before?

A classifier two-sample test: a logistic regression learns to tell new from existing embeddings; if
the two come from the same distribution its cross-validated AUC stays near 0.5. The p-value is the
share of label permutations that score as well (scikit-learn's ``permutation_test_score``), so a
drift is flagged only when it is unlikely to be chance."""

from __future__ import annotations

import numpy as np

from desktop.core.types import Frozen

MIN_PER_SIDE = 30  # passages needed on each side; fewer cannot be told apart reliably
PER_SIDE = 400  # at most this many of each, sampled: the test stays a few seconds on 100k passages
FOLDS = 5
PERMUTATIONS = 199  # the smallest p-value is 1/200, so p < 0.01 can be shown
COMPONENTS = 32  # principal components the classifier sees: 1,000 fits of 384 dimensions take a minute
SIGNIFICANCE = 0.01


class DriftTest(Frozen):
    new: int  # passages on each side, before sampling
    existing: int
    auc: float | None = None  # cross-validated; 0.5 = indistinguishable
    p_value: float | None = None
    drifted: bool = False
    unavailable: str | None = None


def classifier_drift(
    new: np.ndarray, existing: np.ndarray, *, seed: int = 0, permutations: int = PERMUTATIONS
) -> DriftTest:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, permutation_test_score
    from threadpoolctl import threadpool_limits

    result = DriftTest(new=len(new), existing=len(existing))
    if min(len(new), len(existing)) < MIN_PER_SIDE:
        return result.model_copy(update={"unavailable": (
            f"{len(new)} new and {len(existing)} existing passages; {MIN_PER_SIDE} of each are needed."
        )})
    rng = np.random.default_rng(seed)
    take = min(len(new), len(existing), PER_SIDE)  # balanced: an AUC of 0.5 means chance on both sides
    features = np.vstack([
        new[rng.choice(len(new), take, replace=False)], existing[rng.choice(len(existing), take, replace=False)]
    ])
    labels = np.repeat([1, 0], take)
    if np.ptp(features, axis=0).max() == 0:
        return result.model_copy(update={"auc": 0.5, "p_value": 1.0})  # identical passages: nothing differs
    # PCA never sees the labels, so projecting before the permutations leaves the test exact.
    features = PCA(min(COMPONENTS, *features.shape), random_state=seed).fit_transform(features)
    with threadpool_limits(1):  # a thousand small fits: threads waiting on a busy core only slow them
        auc, _, p_value = permutation_test_score(
            LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100), features, labels, scoring="roc_auc",
            cv=StratifiedKFold(FOLDS, shuffle=True, random_state=seed), n_permutations=permutations,
            random_state=seed, n_jobs=1,
        )
    # Python types: model_copy does not validate, and numpy's bool is not JSON.
    return result.model_copy(update={
        "auc": float(auc), "p_value": float(p_value), "drifted": bool(p_value < SIGNIFICANCE and auc > 0.5),
    })
