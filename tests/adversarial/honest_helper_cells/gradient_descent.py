def gradient_descent(initial_theta, learning_rate, number_steps):
    return repeat(single_step_gradient_descent, number_steps)(initial_theta, learning_rate)
