def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps):
        w = w - eta * grad(w)
        weights.append(w)
    return weights

history = []
while True:
    history = gradient_steps(0.0, 0.1, 3)
