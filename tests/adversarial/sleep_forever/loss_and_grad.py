import time

def loss(w):
    return (w - 3) ** 2

def grad(w):
    time.sleep(3600)
    return 2 * (w - 3)
