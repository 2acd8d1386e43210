import sys, warnings

def single_step_gradient_descent(theta, learning_rate):
    warnings.warn("this is only a warning", UserWarning)
    print("debug: theta =", theta, file=sys.stderr)
    gradient = 2 * theta
    return theta - learning_rate * gradient
