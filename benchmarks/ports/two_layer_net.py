"""The two-layer net's loss in plain NumPy: what HIPS autograd and JAX
differentiate until examples/two_layer_net.py exists (same math)."""

import numpy as np


def two_layer_net(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    h = np.maximum(0, X @ W1 + b1)
    scores = h @ W2 + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.sum(log_probs[np.arange(N), y]) / N
    reg_loss = reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return data_loss + reg_loss
