weights = gradient_steps(0.0, 0.1, 8)
plot_steps_on_bowl(weights, loss)
print("eight steps instead of five")
