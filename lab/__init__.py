"""The tooling around the studio: data preparation, training, cross-validation, evaluation,
benchmark, bad-input matrix and contact sheet. It imports the studio; the studio never imports it."""
