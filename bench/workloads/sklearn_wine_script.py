"""The scikit-learn script that ``jaxnn train`` is timed against: what a user writes by hand.

Run as ``python sklearn_wine_script.py DATA.csv MODEL.pkl EPOCHS``: reads the CSV (header row, the
label in the last column), holds out a stratified 20% for validation, standardizes the
features on the training part, trains an MLP 32-32 with Adam (learning rate 1e-3, batch 32)
for EPOCHS epochs, prints the validation accuracy and pickles the scaler and the model, as
``jaxnn train --data DATA.csv --hidden 32,32 --lr 1e-3 --epochs EPOCHS`` does with its model file.
"""

import pickle
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def main(path: str, out: str, epochs: int) -> float:
    """Trains, prints and returns the validation accuracy, and writes the model file."""
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    clf = MLPClassifier(hidden_layer_sizes=(32, 32), batch_size=32, learning_rate_init=1e-3, max_iter=epochs,
                        n_iter_no_change=epochs, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget here
        clf.fit(scaler.transform(x_tr), y_tr)
    accuracy = clf.score(scaler.transform(x_va), y_va)
    print(f"validation accuracy {accuracy:.3f}")
    with open(out, "wb") as f:
        pickle.dump((scaler, clf), f)
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
