import sys

def loss(w):
    while True:
        sys.stdout.write("x" * 65536)
        sys.stderr.write("y" * 65536)

def grad(w):
    return 2 * (w - 3)
