def loss(w):
    return power(w - 3, 2)

def grad(w):
    return 2 * (w - 3)
