import matplotlib.pyplot as plt

path = gradient_steps(0.0, 0.1, 200)
plt.plot(path)
plt.title("my own look at the steps")
plt.show()
