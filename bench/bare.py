"""Baseline B: the essential work of an evaluation, written by hand the way a data scientist would.

Read the CSV with pandas, split it the same way, fit the same pipeline (impute, one-hot, the same
estimator and params), predict with the candidate and the champion on the holdout, compute the same
metrics, save the model with skops. No registry, no report, no checks.

    python bench/bare.py DATA.csv TARGET MODEL CHAMPION.skops OUT.skops
"""

from __future__ import annotations

import sys


def main(data: str, target: str, model_name: str, champion_path: str, out: str) -> None:
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn import metrics as skm
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_csv(data)
    X, y = frame.drop(columns=[target]), frame[target]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    numeric_steps = [("impute", SimpleImputer(strategy="median"))]
    if model_name == "logistic_regression":
        estimator = LogisticRegression(random_state=42)
        numeric_steps.append(("scale", StandardScaler()))
    else:
        estimator = HistGradientBoostingClassifier(random_state=42)
    pre = ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            ),
        ]
    )
    model = Pipeline([("preprocess", pre), ("model", estimator)]).fit(X_train, y_train)
    champion = sio.load(champion_path, trusted=sio.get_untrusted_types(file=champion_path))
    for fitted in (model, champion):
        labels = fitted.predict(X_test)
        proba = fitted.predict_proba(X_test)
        positive = fitted.classes_[1]
        scores = {
            "accuracy": skm.accuracy_score(y_test, labels),
            "balanced_accuracy": skm.balanced_accuracy_score(y_test, labels),
            "precision_macro": skm.precision_score(y_test, labels, average="macro", zero_division=0),
            "recall_macro": skm.recall_score(y_test, labels, average="macro", zero_division=0),
            "f1_macro": skm.f1_score(y_test, labels, average="macro", zero_division=0),
            "precision": skm.precision_score(y_test, labels, pos_label=positive, zero_division=0),
            "recall": skm.recall_score(y_test, labels, pos_label=positive, zero_division=0),
            "f1": skm.f1_score(y_test, labels, pos_label=positive, zero_division=0),
            "roc_auc": skm.roc_auc_score(np.asarray(y_test) == positive, proba[:, 1]),
            "log_loss": skm.log_loss(y_test, proba, labels=fitted.classes_),
        }
    sio.dump(model, out)
    print(scores)


if __name__ == "__main__":
    main(*sys.argv[1:6])
