def gradient_steps(w, eta, number_steps):
    return [w - eta * grad(w)] * number_steps
