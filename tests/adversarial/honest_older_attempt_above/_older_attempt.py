# my first try (the sign is wrong), kept to compare
def single_step_gradient_descent(theta, learning_rate):
    return theta + learning_rate * 2 * theta
