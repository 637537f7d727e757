"""Brady et al. (1989), Glorot & Bengio (2010) and Sohl-Dickstein (2024), written again by hand
in NumPy and plain Python.

Independent of jaxopt_lab: the oracle for tests/test_problems.py and tests/test_initializers.py.
"""
from __future__ import annotations

import math

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def spoiler_divergence_gradient(weights, bias, t, eps):
    """d div₄/dw_y and d div₄/db of the spoiler's divergence div₄ = (1 − ε − σ(−w_y·t + b))²."""
    z = -weights[1] * t + bias
    residual = 1.0 - eps - sigmoid(z)
    slope = sigmoid(z) * (1.0 - sigmoid(z))
    return 2.0 * residual * slope * t, -2.0 * residual * slope


def neuron_l2_loss(weights, bias, points, targets):
    """Average L2 divergence of one logistic neuron, a loop over the points."""
    total = 0.0
    for x, target in zip(points, targets):
        z = sum(w * xi for w, xi in zip(weights, x)) + bias
        total += (target - sigmoid(z)) ** 2
    return total / len(points)


def perceptron(points, labels, max_epochs=10_000):
    """Rosenblatt's rule from zero, cycling the points; returns (weights, bias, updates, done)."""
    weights = [0.0] * len(points[0])
    bias = 0.0
    updates = 0
    for _ in range(max_epochs):
        mistakes = 0
        for x, label in zip(points, labels):
            sign = 1.0 if label == 1 else -1.0
            if sign * (sum(w * xi for w, xi in zip(weights, x)) + bias) <= 0:
                weights = [w + sign * xi for w, xi in zip(weights, x)]
                bias += sign
                updates += 1
                mistakes += 1
        if mistakes == 0:
            return weights, bias, updates, True
    return weights, bias, updates, False


def mlp_cross_entropy(hidden_kernel, hidden_bias, output_kernel, output_bias, inputs, labels,
                      activation=np.tanh):
    """Two dense layers, softmax cross-entropy averaged over examples."""
    logits = activation(inputs @ hidden_kernel + hidden_bias) @ output_kernel + output_bias
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def xavier_limit(fan_in, fan_out):
    """W_ij ~ U(−√(6/(m+n)), √(6/(m+n))) (Glorot & Bengio 2010)."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def moons(num_samples, noise, seed):
    """scikit-learn's make_moons recipe (unshuffled) with NumPy jitter."""
    num_outer = num_samples // 2
    outer = np.linspace(0, np.pi, num_outer)
    inner = np.linspace(0, np.pi, num_samples - num_outer)
    x = np.concatenate([np.cos(outer), 1 - np.cos(inner)])
    y = np.concatenate([np.sin(outer), 1 - np.sin(inner) - 0.5])
    points = np.stack([x, y], axis=1)
    return points + noise * np.random.default_rng(seed).standard_normal(points.shape)


def trainability_loss_and_grads(input_kernel, output_kernel, inputs, targets):
    """Sohl-Dickstein (2024): ŷ = tanh(√(2/n)·X·W₀)·W₁/n, L = mean((ŷ − y)²), backprop by hand."""
    width = input_kernel.shape[0]
    scale = math.sqrt(2.0 / width)
    hidden = np.tanh(scale * inputs @ input_kernel)
    residual = hidden @ output_kernel / width - targets
    loss = np.mean(residual**2)
    d_output = 2.0 * residual / residual.size
    grad_output = hidden.T @ d_output / width
    d_pre = (d_output @ output_kernel.T / width) * (1.0 - hidden**2)
    grad_input = scale * inputs.T @ d_pre
    return loss, grad_input, grad_output


def trainability_gd(input_kernel, output_kernel, inputs, targets, lr_in, lr_out, num_steps):
    """Plain per-layer gradient descent; returns the loss after ``num_steps`` steps."""
    for _ in range(num_steps):
        _, grad_input, grad_output = trainability_loss_and_grads(
            input_kernel, output_kernel, inputs, targets)
        input_kernel = input_kernel - lr_in * grad_input
        output_kernel = output_kernel - lr_out * grad_output
    return trainability_loss_and_grads(input_kernel, output_kernel, inputs, targets)[0]


def paper_network_loss(weights, inputs, targets, nonlinearity):
    """The published ``net``/``loss`` loop (mean-field, per-layer ``Z = X·W/√fan_in``), in NumPy."""
    x = inputs
    for w in weights:
        z = x @ w / math.sqrt(w.shape[0])
        if nonlinearity == "tanh":
            x = np.tanh(z * math.sqrt(2))
        elif nonlinearity == "relu":
            x = np.maximum(z, 0.0) * math.sqrt(2)
        else:
            x = z
    return np.mean((z / math.sqrt(w.shape[0]) - targets) ** 2)
