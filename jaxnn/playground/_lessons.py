"""The playground's lessons: set-ups in the course's order, each with a few sentences.

A lesson is a set-up (the settings it changes from the defaults; the page applies them as
it applies a link) and what to tell the student: what to look at, one question to try, what
the course says, and the chapter of the course book that explains it (its file name under
``docs/course/``, built to ``course/<chapter>.html``). The page's "Lessons" menu lists them
in this order, the order of the lecture.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Lesson", "LESSONS"]


@dataclasses.dataclass(frozen=True)
class Lesson:
    """One lesson: an id for the link (``#lesson=<id>``), its set-up and its text."""

    id: str
    title: str
    chapter: str  # docs/course/<chapter>.md
    chapter_title: str
    settings: dict[str, Any]
    look: str
    question: str
    course: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_XOR_NET = {"dataset": "xor", "features": ["x1", "x2"], "activation": "tanh", "optimizer": "adam", "lr": 0.03}

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "perceptron-rule", "The perceptron rule and its bound", "01_perceptron", "The perceptron and its learning rule",
        {"mode": "perceptron", "dataset": "separable", "noise": 0.0, "features": ["x1", "x2"], "eta": 1.0,
         "perceptron_step": "update", "epochs_per_frame": 1},
        "Press step: each update moves the line towards the point circled in red, the one it got wrong.",
        "How many updates does it take, and is that below Novikoff's bound (R/γ)² shown under the plot? "
        "Change η: does the line it ends with change?",
        "Rosenblatt's rule starts from w = 0 and adds η y x on every mistake, y⟨w, x⟩ ≤ 0. On data a line "
        "separates with margin γ it stops after at most (R/γ)² updates.",
    ),
    Lesson(
        "perceptron-xor", "Its limit: XOR", "02_xor", "Its limit: XOR",
        {"mode": "perceptron", "dataset": "xor", "features": ["x1", "x2"], "eta": 1.0,
         "perceptron_step": "epoch", "epochs_per_frame": 100},
        "The mistakes per epoch never reach 0: the line keeps turning; after 10,000 epochs the run stops. "
        "Under the plot, the proof that it must: multipliers on a few ringed points.",
        "For the four corners of XOR, which weights λ ≥ 0 make the sum of λ y (1, x) zero? Such λ are a "
        "certificate: a proof that no line separates the data.",
        "Minsky showed that a perceptron cannot learn what no straight line separates. The way out: change "
        "the model of the neuron, or combine several.",
    ),
    Lesson(
        "combining", "Combining perceptrons: a hidden layer solves XOR", "03_combining", "Combining perceptrons",
        {**_XOR_NET, "mode": "network", "hidden": [2], "batch": 10},
        "Each hidden unit's map is one line across the plane; the output combines the two lines.",
        "Remove the hidden layer (−): can the output still separate XOR? Does 1 hidden unit suffice?",
        "Two neurons in a hidden layer and one output neuron make a fully connected feedforward network that "
        "solves XOR, which no single perceptron can.",
    ),
    Lesson(
        "linear-collapse", "A linear hidden layer collapses", "03_combining", "Combining perceptrons",
        {**_XOR_NET, "mode": "network", "hidden": [4, 4], "activation": "identity"},
        "However many layers and units, the boundary stays one straight line.",
        "Switch the activation to tanh: what does the boundary do now?",
        "Without a nonlinearity, layers of linear units multiply into a single matrix: the network is one "
        "linear model, and XOR stays out of reach.",
    ),
    Lesson(
        "features-xor", "Features instead of depth: x1·x2", "02_xor", "Its limit: XOR",
        {**_XOR_NET, "mode": "network", "features": ["x1", "x2", "x1x2"], "hidden": []},
        "No hidden layer at all, yet the boundary separates XOR: the input x1·x2 already does.",
        "Untick x1 and x2 and keep only x1·x2: does it still learn? What does the feature's map show?",
        "Changing what the neuron sees is the other way out of the perceptron's limit: on the feature x1·x2, "
        "XOR is linearly separable.",
    ),
    Lesson(
        "lr-small", "Learning rate too small", "04_gradient_descent", "Gradient descent on any function",
        {"mode": "network", "dataset": "moons", "hidden": [4], "activation": "tanh", "optimizer": "sgd",
         "lr": 0.003, "batch": 10},
        "The loss curve barely bends: every step is tiny.",
        "Multiply the learning rate by 10, then by 10 again: how many epochs until the test loss is below 0.3?",
        "Gradient descent steps x ← x − η f′(x): the step is η times the slope, so a small η crawls.",
    ),
    Lesson(
        "lr-large", "Learning rate too large", "04_gradient_descent", "Gradient descent on any function",
        {"mode": "network", "dataset": "moons", "hidden": [4], "activation": "tanh", "optimizer": "sgd",
         "lr": 8.0, "batch": 10},
        "The loss jumps up and down instead of falling, or training stops with a NaN.",
        "Halve the learning rate until the curve falls smoothly: where does it start to work?",
        "If the learning rate is too large, gradient descent overshoots the minimum and can fail to converge.",
    ),
    Lesson(
        "optimizers", "Optimizers side by side", "06_optimizers", "Optimizers",
        {"mode": "grid", "dataset": "moons", "hidden": [4], "activation": "tanh", "optimizer": "sgd",
         "grid_axes": "lr_seed", "grid_rows": 4, "grid_cols": 3, "lr_min": 0.001, "lr_max": 1.0, "batch": 10},
        "Twelve networks at once: four learning rates (rows) by three seeds. With SGD only some rows learn.",
        "Switch the optimizer to adam, then adagrad: which rows learn now, and do the seeds agree?",
        "Adam adapts the step of each weight from the gradients' first and second moments, and needs less "
        "tuning of the learning rate than gradient descent.",
    ),
    Lesson(
        "activations", "Activations side by side", "07_activations", "Activation functions",
        {"mode": "grid", "dataset": "circles", "hidden": [4], "optimizer": "adam", "lr": 0.03,
         "grid_axes": "width_activation", "widths": [1, 2, 4], "activations": ["tanh", "relu", "sigmoid", "identity"],
         "batch": 10},
        "Rows are hidden widths, columns activations: which cells draw a circle, which only a line?",
        "Why does identity never succeed, whatever the width? How narrow can the tanh network be?",
        "tanh is the usual choice for hidden layers, the sigmoid for a binary output; a linear activation "
        "adds nothing.",
    ),
    Lesson(
        "features-spirals", "Features instead of depth: sin on spirals", "09_matrix_form",
        "Fully connected networks in matrix form",
        {"mode": "network", "dataset": "spirals", "classes": 2, "features": ["x1", "x2", "sinx1", "sinx2"],
         "hidden": [6], "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch": 10},
        "With sin x1 and sin x2 as inputs, one small hidden layer follows the spiral arms.",
        "Untick the sin features: how many more layers or units does it take to follow the arms?",
        "A fully connected network needs no assumptions about its inputs, but the right features make its "
        "job much smaller.",
    ),
    Lesson(
        "overfitting", "Overfitting: small data, a large network", "09_matrix_form",
        "Fully connected networks in matrix form",
        {"mode": "network", "dataset": "moons", "noise": 0.3, "samples": 40, "test_ratio": 0.5,
         "hidden": [8, 8], "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch": 0, "l2": 0.0},
        "The training loss keeps falling while the test loss turns up: the boundary bends around single points.",
        "Set L2 to 0.01, or raise the samples: does the test loss stop rising? Why judge on the test points only?",
        "The data are divided into training, validation and test sets; only data the network never trained on "
        "tell how it will do on new data.",
    ),
    Lesson(
        "regression", "Regression: a number, not a class", "10_architectures", "The four architectures on real data",
        {"mode": "network", "dataset": "gaussians", "features": ["x1", "x2"], "hidden": [8, 8],
         "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch": 10},
        "The map shows the predicted value: orange high, blue low. Six bumps appear one by one.",
        "Try the data set plane with no hidden layer: why does a linear model fit it exactly?",
        "For regression the output layer's activation is usually the identity, trained with the mean squared "
        "error.",
    ),
    Lesson(
        "multiclass", "Multi-class: three spirals", "10_architectures", "The four architectures on real data",
        {"mode": "network", "dataset": "spirals", "classes": 3, "features": ["x1", "x2"], "hidden": [8, 8],
         "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch": 10},
        "Three colours, one per class: the output layer has three units, one per arm.",
        "Lower the hidden widths: when do two arms merge into one colour?",
        "With more than two classes the output activation is the softmax, trained with the categorical cross "
        "entropy.",
    ),
)
