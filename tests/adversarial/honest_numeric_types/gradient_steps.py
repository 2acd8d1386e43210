import numpy as np

def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps):
        w = np.float64(w - eta * grad(w))
        weights.append(w)
    return weights
