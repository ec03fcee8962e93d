"""scikit-learn estimators trained by jaxnn's compiled engine (extra ``jaxnn[sklearn]``).

:class:`MLPClassifier`, :class:`MLPRegressor` and :class:`Perceptron` take scikit-learn's
parameters and give its fitted attributes and methods, so they go into a ``Pipeline``,
``cross_val_score`` or ``GridSearchCV`` unchanged; they pass scikit-learn's own estimator
checks (``sklearn.utils.estimator_checks``) with jit on. ``import jaxnn`` does not import this
package or scikit-learn.

Training is :func:`jaxnn.train.fit`: one compiled program per *structure* (hidden sizes,
activation, solver, batch size, number of features and outputs), with the float
hyperparameters (``learning_rate_init``, ``alpha``, ``beta_1``, ``beta_2``, ``epsilon``,
``momentum``, ``tol``, ``eta0``), ``max_iter``, ``n_iter_no_change`` and ``random_state`` as
its data. The training rows are padded to a bucket (:func:`bucket`: at most 1/8 more rows,
at least 64) with rows of sample weight 0, and the inputs with zero columns (at least 16),
so the folds of a cross-validation, whose sizes differ by a row or two, share the program:
a ``GridSearchCV`` over those hyperparameters compiles once.
Predictions are computed on the host in float64 with NumPy and compile nothing.

:class:`GridSearchCV` is scikit-learn's grid search (a subclass, so only the import changes)
whose fits are trained ahead, every (candidate, fold) pair a member of one
:func:`jaxnn.train.sweep` per structure. Fitted estimators save to jaxnn's checkpoint format
(``est.save(path)``, ``MLPClassifier.load(path)``), which never unpickles.

Where the parameters differ from scikit-learn's, and why:

============================  ===========================================================================
parameter                     difference
============================  ===========================================================================
``solver``                    ``"adam"`` and ``"sgd"`` as scikit-learn's (Adam with epsilon on the
                              uncorrected root, momentum in the velocity), plus jaxnn's ``"adamw"``,
                              ``"rmsprop"``, ``"adagrad"``, ``"adadelta"``. No ``"lbfgs"``: a
                              full-batch quasi-Newton method is not a compiled epoch loop.
``learning_rate``             not offered (constant only): ``"invscaling"`` and ``"adaptive"`` change
``power_t``                   the rate between epochs from the host.
``batch_size``                as scikit-learn's, but the rows are padded with weight-0 rows to a
                              multiple of the batch size, shuffled with the others: an epoch has
                              scikit-learn's ``ceil(n / batch_size)`` steps, whose batches hold
                              ``n / steps`` real samples on average instead of all but the last full.
                              Full batch is exact.
``tol``,                      scikit-learn's rule (``EarlyStopping(reference="best")``), on the loss
``n_iter_no_change``          ``fit`` records for the epoch: the mean of its batches' losses, each batch
                              weighing the same (scikit-learn weighs them by their size).
``random_state``              drawn from as scikit-learn draws (the initial weights, then the
                              validation split), then for the seed of the shuffles: the same seed
                              gives the same model bit for bit, and with full batches scikit-learn's
                              model to float32 rounding.
``loss_curve_``               the loss minimized; for several regression outputs that is half the
                              squared error summed over them (scikit-learn's gradient), which
                              scikit-learn reports averaged over them, and ``tol`` applies to it.
``verbose``, ``max_fun``      not offered (``jaxnn.train.fit(progress=True)`` shows progress).
Perceptron ``penalty``,       not offered: the Perceptron is Rosenblatt's rule (SGD on
``alpha``, ``class_weight``   ``max(0, -y f)``) without regularization.
Perceptron multi-class        one-vs-rest as scikit-learn, but the classes train together: one shuffle
                              order and one stopping rule (on the summed loss) for all of them.
============================  ===========================================================================

Everything is computed in float32 (scikit-learn computes in float64 for float64 input);
``coefs_``, ``intercepts_`` and ``coef_`` are float32 arrays.
"""

from jaxnn.sklearn import _solvers
from jaxnn.sklearn._mlp import MLPClassifier
from jaxnn.sklearn._regressor import MLPRegressor
from jaxnn.sklearn._perceptron import Perceptron
from jaxnn.sklearn._rows import bucket
from jaxnn.sklearn._search import GridSearchCV

# The constants are re-exported by assignment so that each carries its description here,
# where the API reference reads it.

#: ``activation`` choices: scikit-learn's names and the jaxnn activation each means.
ACTIVATIONS = _solvers.ACTIVATIONS
#: ``solver`` choices: scikit-learn's ``"adam"`` and ``"sgd"`` (with ``momentum`` and
#: ``nesterovs_momentum``), and jaxnn's other optimizers by name, each at ``learning_rate_init``.
SOLVERS = _solvers.SOLVERS

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron", "GridSearchCV", "ACTIVATIONS", "SOLVERS", "bucket"]
