import numpy as np

def single_step_gradient_descent(theta, learning_rate):
    return np.float64(theta) - np.float64(learning_rate) * 2 * np.float64(theta)
