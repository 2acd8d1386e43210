def slope(theta):
    return 2 * theta

# ---- split here
def single_step_gradient_descent(theta, learning_rate):
    return theta - learning_rate * slope(theta)
