"""The multiclass SVM loss in plain NumPy: what HIPS autograd and JAX
differentiate until examples/svm_loss.py exists (same math)."""

import numpy as np


def svm_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    # the correct class always has margin 1 (and no net gradient): drop it
    data_loss = (np.sum(margins) - N) / N
    return data_loss + reg * np.sum(W * W)
