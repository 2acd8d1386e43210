import time

def gradient_steps(w, eta, number_steps):
    time.sleep(0.03)
    weights = []
    for _ in range(number_steps):
        w = w - eta * grad(w)
        weights.append(w)
    return weights
