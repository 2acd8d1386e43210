def single_step_gradient_descent(theta, learning_rate):
    return theta
