def gradient_descent(initial_theta, learning_rate, number_steps):
    while True:
        pass
