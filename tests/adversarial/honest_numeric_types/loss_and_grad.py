import numpy as np

def loss(w):
    return np.float64((w - 3) ** 2)

def grad(w):
    if isinstance(w, int):
        return int(2 * (w - 3))
    return np.float64(2 * (w - 3))
