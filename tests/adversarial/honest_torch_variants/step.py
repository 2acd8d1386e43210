def step(x, f):
    # compute y at a given value of x
    y = f(x)
    y.backward()
    x.data -= learning_rate * x.grad.data
    # (don't bother about x.grad = None - it is just necessary boilerplate)
    x.grad = None
    return x
