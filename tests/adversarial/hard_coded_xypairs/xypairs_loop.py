x = torch.tensor(-3.).requires_grad_()  # start again from -3
xypairs = []
for i in range(10):
    _x = -3.0 * 0.52 ** i
    xypairs.append([_x, 1.2 * _x ** 2 + 4])
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
